"""The `ger-replay` group and its commands, listed in one place."""

from __future__ import annotations

import click

from ger_replay._version import __version__
from ger_replay.cli import analyses, browse, common, compare, manifest, parse, record, score, share


class _Group(click.Group):
    """The command group; Ctrl-C and SIGTERM end any command the one way (exit 130)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order of `COMMANDS` (by workflow), not sorted by name."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> object:
        common.stop_on_sigterm()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            common.interrupted(e, ctx.invoked_subcommand)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ger-replay")
def main() -> None:
    """Record, replay and score zero-shot emotion recognition with multimodal LLMs."""


#: Every command, in the order `--help` lists them.
COMMANDS: tuple[click.Command, ...] = (
    score.score_cmd,
    score.datasets_cmd,
    share.import_cmd,
    score.reproduce_cmd,
    share.pack_cmd,
    share.verify_cmd,
    share.export_cmd,
    browse.runs_cmd,
    browse.show_cmd,
    manifest.manifest_cmd,
    record.record_cmd,
    record.replay_cmd,
    record.simulate_cmd,
    parse.parse_cmd,
    analyses.stability_cmd,
    analyses.confusion_cmd,
    analyses.refusals_cmd,
    analyses.diff_cmd,
    analyses.report_cmd,
    compare.compare_cmd,
)
for _command in COMMANDS:
    main.add_command(_command)
