"""The `ger-replay` command line: each command is a few lines over the library modules."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ger_replay import __version__
from ger_replay.errors import GerReplayError

#: Exit codes: 0 fine, 1 a check failed (scores moved, bundle altered), 2 bad input.
EXIT_CHECK = 1
EXIT_INPUT = 2


def report_errors(errors: Sequence[BaseException]) -> None:
    """Lists every failure at the end, one per line, on stderr."""
    if not errors:
        return
    click.echo(f"\n{len(errors)} problem(s):", err=True)
    for e in errors:
        click.echo(f"  error: {e}", err=True)


def fail(e: BaseException, code: int = EXIT_INPUT) -> None:
    click.echo(f"error: {e}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ger-replay")
def main() -> None:
    """Record, replay and score zero-shot emotion recognition with multimodal LLMs."""


@main.command("score")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "csv", "json", "latex"]),
    default="table",
    show_default=True,
)
@click.option(
    "--missing",
    type=click.Choice(["skip", "wrong"]),
    default="skip",
    show_default=True,
    help="Unanswered samples: left out (the paper's rule) or counted as wrong.",
)
@click.option(
    "--expect", type=click.Path(path_type=Path), help="Earlier JSON scores to compare with."
)
@click.option(
    "--tolerance",
    type=float,
    default=1e-9,
    show_default=True,
    help="Largest change of a value that --expect lets pass.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not stdout.")
def score_cmd(
    paths: tuple[Path, ...],
    fmt: str,
    missing: str,
    expect: Path | None,
    tolerance: float,
    output: Path | None,
) -> None:
    """Score every run under PATHS (predictions files, run folders, released predictions)."""
    from ger_replay.report import tables
    from ger_replay.score import expect as expect_mod
    from ger_replay.score import sources
    from ger_replay.score.scoring import score_table

    loaded = sources.load(paths)
    result = score_table(loaded.table, missing=missing)  # type: ignore[arg-type]
    text = tables.render(result.rows, fmt)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    errors: list[GerReplayError] = [*loaded.errors, *result.errors]
    report_errors(errors)
    if expect is not None:
        try:
            changes = expect_mod.moved(result.rows, expect_mod.read_expected(expect), tolerance)
        except GerReplayError as e:
            fail(e)
        if changes:
            click.echo(f"\n{len(changes)} run(s) moved against {expect}:", err=True)
            for line in changes:
                click.echo(f"  {line}", err=True)
            sys.exit(EXIT_CHECK)
    if errors:
        sys.exit(EXIT_INPUT)


@main.command("import")
@click.argument("kind", type=click.Choice(["gpt4v-emotion"]))
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Predictions table to write: .parquet or .csv.",
)
def import_cmd(kind: str, results_dir: Path, output: Path) -> None:
    """Import released predictions (the gpt4v-emotion `results/` layout) as a predictions table."""
    from ger_replay.score.writer import write_table
    from ger_replay.share.released import import_results

    try:
        df, errors = import_results(results_dir)
        write_table(df, output)
    except GerReplayError as e:
        fail(e)
    n_runs = df.get_column("run").n_unique() if df.height else 0
    click.echo(f"imported {n_runs} run(s), {df.height} rows -> {output}", err=True)
    report_errors(errors)
    if errors:
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":
    main()
