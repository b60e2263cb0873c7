"""`score` and `datasets`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError, InputError


@click.command("score")
@common.PATHS
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Bootstrap resamples for ci_low/ci_high of every run (0: no interval).",
)
@common.FMT_LATEX
@common.RULES
@click.option(
    "--expect", type=click.Path(path_type=Path), help="Earlier JSON scores to compare with."
)
@click.option(
    "--tolerance",
    type=float,
    default=1e-9,
    show_default=True,
    help="Largest change of a value (in points) that --expect lets pass.",
)
@common.OUTPUT
@click.option(
    "--labels",
    "label_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="CSV with sample_id,gt: the ground truth of runs shared without labels (repeatable).",
)
@common.bootstrap_options
def score_cmd(
    paths: tuple[Path, ...],
    fmt: str,
    rules: str,
    expect: Path | None,
    tolerance: float,
    output: Path | None,
    label_files: tuple[Path, ...] = (),
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    ci_method: str = "percentile",
) -> None:
    """Score every run under PATHS (predictions files, folders of Parquet files, run folders,
    bundles, released predictions). Files are scanned, not read: memory grows with the runs."""
    from ger_replay.io.load import read_ground_truth
    from ger_replay.io.scan import scan
    from ger_replay.report.tables import render_scores
    from ger_replay.score.stream import score_sources

    try:
        given = read_ground_truth(label_files) if label_files else None
    except GerReplayError as e:
        common.fail(e)
    scanned = scan(paths, labels=given)
    result = score_sources(scanned.sources, rules)
    if n_boot:
        from ger_replay.stats.bootstrap import add_count_intervals

        add_count_intervals(result.rows, result.confusion, n_boot, confidence, ci_method, seed)
    if result.rows or fmt == "json":
        common.emit(render_scores(result.rows, fmt), output)
    errors = [*scanned.errors, *result.errors]
    common.report_errors(errors)
    if expect is not None:
        _check_expected(result.rows, expect, tolerance)
    common.exit_for(errors)


def _check_expected(rows: list[dict[str, Any]], expect: Path, tolerance: float) -> None:
    """`--expect`: exit 1 when a run moved against the earlier scores."""
    from ger_replay.score import expect as expect_mod

    try:
        changes = expect_mod.moved(rows, expect_mod.read_expected(expect), tolerance)
    except GerReplayError as e:
        common.fail(e)
    if changes:
        echo(f"\n{len(changes)} run(s) moved against {expect}:", err=True)
        for line in changes:
            echo(f"  {line}", err=True)
        sys.exit(common.EXIT_CHECK)


@click.command("reproduce")
@click.argument("results_dir", type=click.Path(path_type=Path))
@common.FMT
def reproduce_cmd(results_dir: Path, fmt: str) -> None:
    """Import released predictions (the gpt4v-emotion `results/` layout), score them with the
    paper's rules and compare every number the folder covers with the paper's. Exit 0 when all
    match to two decimals, 1 naming each run that does not, 2 on bad input."""
    from ger_replay.protocol.rulesets import RuleSet
    from ger_replay.score.reproduce import reproduce

    def go() -> int:
        rep = reproduce(results_dir, RuleSet.PAPER)
        common.show(
            [
                ("GPT-4V: ours against the paper", rep.table),
                ("baselines on the released test lists (information, not checked)", rep.baselines),
            ],
            fmt,
            rep.rules,
        )
        if rep.uncovered:
            echo(
                f"no paper number for {len(rep.uncovered)} run(s): {', '.join(rep.uncovered)}",
                err=True,
            )
        common.report_errors(rep.errors)
        for line in rep.verdict():
            echo(line, err=True)
        if rep.errors:
            return common.EXIT_INPUT
        if rep.table.height == 0:
            raise InputError("no run here has a number in the paper to compare with", results_dir)
        return common.EXIT_CHECK if rep.failed else common.EXIT_OK

    common.guarded(go)


@click.command("datasets")
@common.FMT
def datasets_cmd(fmt: str) -> None:
    """The 21 datasets of the benchmark: key, task, metric, test size and candidate labels."""
    from ger_replay.protocol.datasets import registry_frame
    from ger_replay.report.text_tables import render_text

    echo(render_text(registry_frame(), fmt))
