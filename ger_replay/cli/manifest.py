"""`manifest`: the manifest of a dataset's test set from its folder as distributed."""

from __future__ import annotations

from pathlib import Path

import click

from ger_replay.cli import common
from ger_replay.errors import GerReplayError


@click.command("manifest")
@click.argument("dataset")
@click.option(
    "--media",
    required=True,
    type=click.Path(path_type=Path),
    help="The dataset's folder as its authors distribute it.",
)
@click.option(
    "--tests",
    type=click.Path(path_type=Path),
    help="The released predictions folder (results/): the test list and labels.",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="CSV name,gt: the test list of a dataset with no released list.",
)
@click.option(
    "--text",
    type=click.Path(path_type=Path),
    help="CSV of the transcripts (multimodal and tweet datasets); default: <name>.txt files.",
)
@click.option(
    "--text-columns", default="name,text", show_default=True, help="The name and text columns."
)
@click.option(
    "--agree",
    type=click.Choice(["five", "four", "three"]),
    default="three",
    show_default=True,
    help="Twitter I: the agreement list (three holds the other two).",
)
@click.option(
    "--prefer",
    type=click.Choice(["files", "frames"]),
    help="Video datasets: a video file or a frame folder when a clip has both.",
)
@click.option("--allow-missing", is_flag=True, help="Write the samples that have media.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The manifest CSV to write (what record --manifest reads).",
)
def manifest_cmd(
    dataset: str,
    media: Path,
    tests: Path | None,
    labels: Path | None,
    text: Path | None,
    text_columns: str,
    agree: str,
    prefer: str | None,
    allow_missing: bool,
    output: Path,
) -> None:
    """The manifest of DATASET's test set, its media found under --media (docs/datasets.md)."""
    from ger_replay.record.manifest_build import build

    cols = tuple(c.strip() for c in text_columns.split(","))
    try:
        if len(cols) != 2 or not all(cols):
            raise GerReplayError("--text-columns: expected NAME,TEXT")
        got = build(
            dataset,
            media,
            output,
            tests=tests,
            labels=labels,
            text=text,
            text_columns=(cols[0], cols[1]),
            allow_missing=allow_missing,
            prefer=prefer,
            agree=agree,
        )
    except GerReplayError as e:
        common.fail(e)
    common.echo(f"{got.written} sample(s) -> {output} (test list: {got.tests_from})", err=True)
    if got.missing:
        common.echo(f"left out, no media ({len(got.missing)}):", err=True)
        for m in got.missing:
            common.echo(f"  {m}", err=True)
