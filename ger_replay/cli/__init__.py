"""The `ger-replay` command line: one module per command or small group of commands, each a few
lines over the library; exit codes, output, shared options and the error printer are in
`common`, the group and its list of commands in `app`."""

from __future__ import annotations

from ger_replay.cli.app import main

__all__ = ["main"]
