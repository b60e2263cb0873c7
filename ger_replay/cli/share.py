"""`import`, `pack`, `verify` and `export`: predictions and bundles in and out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError, InputError


@click.command("import")
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
    from ger_replay.io.released import import_to

    try:
        n_runs, n_rows, errors = import_to(results_dir, output)
        if errors:
            common.report_errors(errors)
            common.fail(InputError(f"{len(errors)} problem(s) above: nothing written", output))
    except GerReplayError as e:
        common.fail(e)
    echo(f"imported {n_runs} run(s), {n_rows} rows -> {output}", err=True)


@click.command("pack")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Bundle to write (.tar.gz).",
)
@click.option("--no-labels", is_flag=True, help="Leave labels.csv (ground truth) out.")
def pack_cmd(runs: tuple[Path, ...], output: Path, no_labels: bool) -> None:
    """Pack run folders into a deterministic BUNDLE.tar.gz with a manifest of checksums."""
    from ger_replay.io.bundle import PackRefused, pack

    try:
        result = pack(runs, output, labels=not no_labels)
    except PackRefused as e:
        common.report_errors(e.problems)
        common.fail(e)
    except GerReplayError as e:
        common.fail(e)
    echo(f"packed {len(result.runs)} run(s), {result.files} files -> {output}", err=True)
    echo(f"sha256 {result.sha256}")


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
def verify_cmd(bundle: Path) -> None:
    """Check a bundle (or run folder): checksums, schema, no secrets, no images."""
    from ger_replay.io.verify import verify

    problems = verify(bundle)
    if problems:
        common.report_errors(problems)
        sys.exit(common.EXIT_CHECK)
    echo(f"ok: {bundle}")


@click.command("export")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="File to write: .parquet, .csv or .jsonl.",
)
def export_cmd(paths: tuple[Path, ...], output: Path) -> None:
    """Write the predictions table with provenance (.parquet, .csv or .jsonl by extension)."""
    from ger_replay.io.export import export

    try:
        got = export(paths, output)
    except GerReplayError as e:
        common.fail(e)
    echo(f"exported {got.rows} rows -> {output}", err=True)
    common.report_errors(got.errors)
    common.exit_for(got.errors)
