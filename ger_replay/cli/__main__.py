"""`python -m ger_replay.cli`: the same as the `ger-replay` command."""

from ger_replay.cli.app import main

main()
