"""`parse`: what a saved model answer parses to."""

from __future__ import annotations

from pathlib import Path

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError


@click.command("parse")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--labels", help="Candidate labels, comma-separated.")
@click.option(
    "--items",
    "n_items",
    required=True,
    type=click.IntRange(min=0),
    help="How many samples the answer should cover (the batch size of the request).",
)
@click.option("--dataset", help="Take the candidate labels of this dataset key.")
@click.option("--synonyms", type=click.Path(path_type=Path), help="CSV or JSON synonym file.")
@common.FMT
def parse_cmd(
    file: Path,
    labels: str | None,
    n_items: int,
    dataset: str | None,
    synonyms: Path | None,
    fmt: str,
) -> None:
    """Show what a saved model answer (FILE, or - for stdin) parses to."""
    from ger_replay.parsing.saved import parse_file
    from ger_replay.report.parse_text import render_parse

    try:
        result = parse_file(file, n_items, labels, dataset, synonyms)
    except GerReplayError as e:
        common.fail(e)
    echo(render_parse(result, fmt))
