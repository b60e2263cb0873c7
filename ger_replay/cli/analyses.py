"""`stability`, `confusion`, `refusals`, `diff` and `report`: load the inputs, run the analysis,
show its DataFrames (exit 0 fine, 1 a difference found by `diff`, 2 bad input)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import InputError

if TYPE_CHECKING:  # polars loads when a command runs, not with `--help`
    import polars as pl


def _pick(df: pl.DataFrame, runs: Sequence[str]) -> pl.DataFrame:
    from ger_replay.analysis.runsets import select_runs

    return select_runs(df, runs) if runs else df


@click.command("stability")
@common.PATHS
@common.RUNS
@common.FMT
@click.option(
    "--majority",
    type=click.Path(path_type=Path),
    help="Also write the majority-vote run of each set to this predictions file "
    "(.parquet, .csv or .jsonl).",
)
@click.option("--no-ci", is_flag=True, help="Skip the bootstrap intervals (faster).")
@common.RULES
def stability_cmd(
    paths: tuple[Path, ...],
    runs: tuple[str, ...],
    fmt: str,
    majority: Path | None,
    no_ci: bool,
    rules: str,
) -> None:
    """Stability of repeated runs (agreement, spread, majority vote). Runs are grouped by
    dataset and setting (model, template, frames, color, modality); partial runs are left out.
    Refuses, naming the differences, when no two runs share a setting."""
    import polars as pl

    from ger_replay.analysis.stability import stability
    from ger_replay.io.writer import write_table

    def go() -> int:
        loaded = common.load(paths)
        common.report_errors(loaded.errors)
        if loaded.errors:
            return common.EXIT_INPUT
        sets, df = _repeat_sets(_pick(loaded.table, runs))
        parts, votes = [], []
        for group in sets:
            s = stability(df.filter(pl.col("run").is_in(group)), rules, ci=not no_ci)
            title = f"{s.dataset}, {_setting(df, group[0])}: {len(group)} runs"
            per_run = s.per_run.select(
                "run", "metric", "value", "ci_low", "ci_high", "n_scored", "n_total"
            )
            parts += [
                (f"{title}: summary", s.summary),
                ("runs giving the most frequent label (Figure 3a)", s.histogram),
                ("metric per run (Figure 3b)", per_run),
                ("samples that flip most", s.flips(10)),
            ]
            votes.append(s.majority)
        common.show(parts, fmt, rules)
        if majority is not None:
            write_table(pl.concat(votes, how="diagonal_relaxed"), majority)
            echo(f"majority-vote run(s) written to {majority}", err=True)
        return common.EXIT_OK

    common.guarded(go)


def _setting(df: pl.DataFrame, run: str) -> str:
    import polars as pl

    from ger_replay.analysis.runsets import run_info, setting_label

    return setting_label(run_info(df).filter(pl.col("run") == run).row(0, named=True))


def _repeat_sets(df: pl.DataFrame) -> tuple[list[list[str]], pl.DataFrame]:
    """Sets of two or more whole runs of one dataset and setting; partial runs and runs alone
    in their setting are named on stderr; none at all is an error naming the differences."""
    import polars as pl

    from ger_replay.analysis.runsets import differences, setting_groups
    from ger_replay.score.scoring import PARTIAL_BELOW, run_flags

    flags = run_flags(df).filter(pl.col("partial"))
    for r in flags.iter_rows(named=True):
        echo(
            f"left out: {r['run']} is partial ({r['answered']:.0f}% of its samples answered, "
            f"under {PARTIAL_BELOW:.0%})",
            err=True,
        )
    whole = df.filter(~pl.col("run").is_in(flags.get_column("run").implode()))
    if whole.height == 0:
        raise InputError("stability: no whole run among the inputs")
    groups = setting_groups(whole)
    sets = [g for g in groups if len(g) >= 2]
    if not sets:
        why = "; ".join(differences(whole)) or "only one run"
        raise InputError(
            "stability needs two or more runs of one dataset and setting; the runs differ in " + why
        )
    for g in groups:
        if len(g) == 1:
            echo(f"left out: {g[0]} has no repeat of its setting", err=True)
    return sets, whole


@click.command("confusion")
@common.PATHS
@common.RUNS
@common.FMT
@click.option("--normalise", "--normalize", is_flag=True, help="Row percentages, not counts.")
@common.RULES
def confusion_cmd(
    paths: tuple[Path, ...], runs: tuple[str, ...], fmt: str, normalise: bool, rules: str
) -> None:
    """Confusion matrices (with failure columns) and class-wise recall of every run."""
    import polars as pl

    from ger_replay.analysis import confusion

    def go() -> int:
        loaded = common.load(paths)
        common.report_errors(loaded.errors)
        if loaded.table.height == 0:
            return common.EXIT_INPUT
        df = _pick(loaded.table, runs)
        long = confusion.confusion(df, rules)
        value = "row_percent" if normalise else "count"
        parts = [
            (
                f"{run} ({'% of the true class' if normalise else 'counts'})",
                confusion.wide(long.filter(pl.col("run") == run), value),
            )
            for run in long.get_column("run").unique(maintain_order=True).to_list()
        ]
        parts.append(("class-wise recall, precision, F1 (%)", confusion.class_recall(df, rules)))
        common.show(parts, fmt, rules)
        return common.EXIT_INPUT if loaded.errors else common.EXIT_OK

    common.guarded(go)


@click.command("refusals")
@common.PATHS
@common.FMT
def refusals_cmd(paths: tuple[Path, ...], fmt: str) -> None:
    """Refusals, malformed answers, retries, split depth and tokens of every run."""
    from ger_replay.analysis.refusals import refusals

    def go() -> int:
        loaded = common.load(paths)
        common.report_errors(loaded.errors)
        if loaded.table.height == 0:
            return common.EXIT_INPUT
        r = refusals(loaded.table, loaded.calls)
        parts = [("samples by status", r.statuses)]
        if r.calls.height:
            parts += [("calls and tokens", r.calls), ("refusal wordings", r.wordings)]
        else:
            echo("(no recorded run folder among the inputs: no calls or tokens)", err=True)
        common.show(parts, fmt)
        return common.EXIT_INPUT if loaded.errors else common.EXIT_OK

    common.guarded(go)


def _side(path: Path) -> pl.DataFrame | dict[str, dict[str, object]]:
    """A predictions source, or a JSON scoring (`score --format json`)."""
    from ger_replay.score.expect import read_expected

    if path.is_file() and path.suffix.lower() == ".json":
        return read_expected(path)
    loaded = common.load([path])
    if loaded.errors:
        raise loaded.errors[0]
    if loaded.table.height == 0:
        raise InputError("holds no runs", path)
    return loaded.table


@click.command("diff")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@common.FMT
@click.option(
    "--tolerance",
    type=float,
    default=1e-9,
    show_default=True,
    help="Largest change of a metric (in points) not counted as a move.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Changed samples shown.")
@common.RULES
def diff_cmd(a: Path, b: Path, fmt: str, tolerance: float, limit: int, rules: str) -> None:
    """Samples whose label or status changed, and metric moves, between two scorings (exit 1
    when anything changed). --rules scores the predictions sides (a JSON scoring side keeps
    the rules it was made with)."""
    import polars as pl

    from ger_replay.analysis.diff import diff

    def go() -> int:
        d = diff(_side(a), _side(b), rules=rules, tolerance=tolerance)
        moved = d.metrics.filter(pl.col("moved"))
        parts = [("metric moves", moved if fmt != "json" else d.metrics)]
        parts.append((f"samples changed ({d.samples.height})", d.samples.head(limit)))
        common.show(parts, fmt, rules)
        echo(
            f"{moved.height} run(s) moved, {d.samples.height} sample(s) changed "
            f"between {a} and {b}",
            err=True,
        )
        return common.EXIT_CHECK if d.changed else common.EXIT_OK

    common.guarded(go)


@click.command("report")
@common.PATHS
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Report folder; an earlier report there is replaced whole once the new one is done.",
)
@common.RULES
@click.option("--no-ci", is_flag=True, help="Skip the bootstrap intervals (faster).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
def report_cmd(paths: tuple[Path, ...], output: Path, rules: str, no_ci: bool, seed: int) -> None:
    """Tables (Markdown, CSV, LaTeX), figures (PNG, PDF) and OUTPUT/index.html for PATHS."""
    from ger_replay.report.build import build_report

    def go() -> int:
        loaded = common.load(paths)
        common.report_errors(loaded.errors)
        if loaded.table.height == 0:
            return common.EXIT_INPUT
        res = build_report(loaded.table, output, loaded.calls, rules, not no_ci, seed)
        echo(f"report: {len(res.files)} file(s) in {output}; open {res.index}", err=True)
        for n in res.notes:
            echo(f"  not shown: {n}", err=True)
        return common.EXIT_INPUT if loaded.errors else common.EXIT_OK

    common.guarded(go)
