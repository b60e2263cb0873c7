"""`compare`: two runs paired on their samples, or every set of runs that differ in one
setting."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError, InputError

if TYPE_CHECKING:  # the loader and the scoring load when the command runs
    from ger_replay.io.load import LoadResult
    from ger_replay.score.scoring import Coded

#: Default resamples of a paired comparison of two runs, and of every pair within sets of runs.
PAIR_RESAMPLES = 10000
SET_RESAMPLES = 2000

SET_COLUMNS = (
    "factor",
    "column",
    "level",
    "run",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n_scored",
    "delta",
    "delta_low",
    "delta_high",
    "p_value",
)


@click.command("compare")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--run-a", help="Name of run A in PATHS (with --run-b).")
@click.option("--run-b", help="Name of run B in PATHS (with --run-a).")
@click.option(
    "--metric",
    type=click.Choice(["acc", "war", "uar", "waf", "macro_f1"]),
    help="Default: the dataset's metric.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=1),
    help=f"Bootstrap resamples [default: {PAIR_RESAMPLES} for two runs, {SET_RESAMPLES} for sets].",
)
@common.bootstrap_options
@common.RULES
@common.FMT
def compare_cmd(
    paths: tuple[Path, ...],
    run_a: str | None,
    run_b: str | None,
    metric: str | None,
    n_boot: int | None,
    confidence: float,
    seed: int,
    ci_method: str,
    rules: str,
    fmt: str,
) -> None:
    """Paired comparison of two runs on the same samples: B minus A, its bootstrap interval, a
    two-sided bootstrap p-value, the exact McNemar test for accuracy and per-class agreement.
    PATHS are two paths of one run each, or any inputs of `score` with --run-a/--run-b. Without
    names, PATHS holding more than two runs give the table for sets of runs that differ in one
    setting (template, color, frames, modality)."""
    from ger_replay.analysis import paired
    from ger_replay.report.compare_text import render_comparison

    if run_a is None and run_b is None:
        loaded = common.load(paths)
        if paired.holds_many_runs(loaded.table):
            n_sets = n_boot or SET_RESAMPLES
            common.guarded(lambda: _sets(loaded, paths, fmt, rules, seed, n_sets))
    try:
        a, b, errors = _load_pair(paths, run_a, run_b, rules)
        n_pair = n_boot or PAIR_RESAMPLES
        result = paired.compare_runs(a, b, metric, n_pair, confidence, ci_method, seed)
    except GerReplayError as e:
        common.fail(e)
    echo(render_comparison(result, fmt))
    common.report_errors(errors)
    common.exit_for(errors)


def _sets(
    loaded: LoadResult,
    paths: tuple[Path, ...],
    fmt: str,
    rules: str,
    seed: int,
    n_resamples: int,
) -> int:
    """`compare` over sets of runs: every set of runs that differ in one setting only (template,
    color, frames, modality), each level against the set's reference, then one Table 9 style
    view per factor (a row per level, a column per dataset)."""
    from ger_replay.analysis import robustness

    df, errors = loaded.table, loaded.errors
    if df.height == 0:
        raise InputError("no runs to compare under " + ", ".join(map(str, paths)))
    long = robustness.robustness(df, rules=rules, seed=seed, n_resamples=n_resamples)
    if long.height == 0:
        raise InputError(
            "no two runs differ in one setting only (template, color, frames or modality); "
            "name two runs with --run-a and --run-b to compare them directly"
        )
    parts = [("Sets of runs differing in one setting", long.select(SET_COLUMNS))]
    for factor in long.get_column("factor").unique(maintain_order=True).to_list():
        parts.append((f"{factor} (Table 9 layout)", robustness.wide(long, factor)))
    common.show(parts, fmt, rules)
    common.report_errors(errors)
    return common.EXIT_INPUT if errors else common.EXIT_OK


def _load_pair(
    paths: tuple[Path, ...], run_a: str | None, run_b: str | None, rules: str = "paper"
) -> tuple[Coded, Coded, list[GerReplayError]]:
    """The two runs to compare: named ones from everything under `paths`, or, without names,
    the single run each of exactly two paths holds; with the errors of what could not be read."""
    from ger_replay.analysis.paired import only_run, select_runs

    if (run_a is None) != (run_b is None):
        raise InputError("give both --run-a and --run-b, or neither")
    if run_a is not None and run_b is not None:
        loaded = common.load(paths)
        a, b = select_runs(loaded.table, run_a, run_b, rules)
        return a, b, list(loaded.errors)
    if len(paths) != 2:
        raise InputError(
            f"expected two paths of one run each, got {len(paths)}; "
            "or name the runs with --run-a and --run-b"
        )
    errors: list[GerReplayError] = []
    coded = []
    for path in paths:
        loaded = common.load([path])
        errors.extend(loaded.errors)
        coded.append(only_run(loaded.table, str(path), rules))
    return coded[0], coded[1], errors
