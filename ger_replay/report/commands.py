"""What the analysis commands of the CLI do (`stability`, `confusion`, `refusals`, `diff`,
`report`): load the inputs, run the analysis, print its DataFrames. Each returns the exit code
(0 fine, 1 a difference found by `diff`, 2 bad input)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import click
import polars as pl

from ger_replay.errors import GerReplayError, InputError
from ger_replay.report import frames
from ger_replay.score.sources import LoadResult

FORMATS = ("table", "markdown", "csv", "json")
EXIT_OK, EXIT_CHECK, EXIT_INPUT = 0, 1, 2


def _echo(text: str = "", err: bool = False) -> None:
    """Printed text: no secret, no terminal control sequence from a stranger's names."""
    from ger_replay.io.neutral import terminal
    from ger_replay.io.scrub import scrub_text

    click.echo(terminal(scrub_text(text)), err=err)


def render(df: pl.DataFrame, fmt: str) -> str:
    if fmt == "markdown":
        return frames.to_markdown(df).rstrip("\n")
    if fmt == "csv":
        return frames.to_csv(df).rstrip("\n")
    if fmt == "json":
        return json.dumps(df.to_dicts(), indent=2, default=str)
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=60,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=2,
        tbl_formatting="ASCII_MARKDOWN",
    ):
        return str(df)


def _show(parts: Sequence[tuple[str, pl.DataFrame]], fmt: str) -> None:
    if fmt == "json":
        _echo(json.dumps({k: v.to_dicts() for k, v in parts}, indent=2, default=str))
        return
    for i, (title, df) in enumerate(parts):
        if i:
            _echo("")
        if fmt != "csv":
            _echo(f"## {title}" if fmt == "markdown" else f"{title}:")
        else:
            _echo(f"# {title}")
        _echo(render(df, fmt))


def _errors(errors: Sequence[BaseException]) -> None:
    if errors:
        _echo(f"\n{len(errors)} problem(s):", err=True)
        for e in errors:
            _echo(f"  error: {e}", err=True)


def _load(paths: Sequence[Path]) -> tuple[pl.DataFrame, list[GerReplayError]]:
    from ger_replay.score import sources

    loaded = sources.load(paths)
    return loaded.table, list(loaded.errors)


def guarded(fn: Callable[[], int]) -> int:
    """Runs an analysis; an input problem becomes a message and exit 2, not a traceback."""
    try:
        return fn()
    except GerReplayError as e:
        _echo(f"error: {e}", err=True)
        return EXIT_INPUT


def _pick(df: pl.DataFrame, runs: Sequence[str]) -> pl.DataFrame:
    from ger_replay.analysis.runsets import select_runs

    return select_runs(df, runs) if runs else df


def stability_cmd(
    paths: Sequence[Path], runs: Sequence[str], fmt: str, majority_out: Path | None, ci: bool
) -> int:
    from ger_replay.analysis.stability import stability
    from ger_replay.score.writer import write_table

    def go() -> int:
        df, errors = _load(paths)
        _errors(errors)
        if errors:
            return EXIT_INPUT
        s = stability(_pick(df, runs), ci=ci)
        _show(
            [
                ("summary", s.summary),
                ("runs giving the most frequent label (Figure 3a)", s.histogram),
                (
                    "metric per run (Figure 3b)",
                    s.per_run.select(
                        "run", "metric", "value", "ci_low", "ci_high", "n_scored", "n_total"
                    ),
                ),
                ("samples that flip most", s.flips(10)),
            ],
            fmt,
        )
        if majority_out is not None:
            write_table(s.majority, majority_out)
            _echo(f"majority-vote run written to {majority_out}", err=True)
        return EXIT_OK

    return guarded(go)


def confusion_cmd(paths: Sequence[Path], runs: Sequence[str], normalise: bool, fmt: str) -> int:
    from ger_replay.analysis import confusion

    def go() -> int:
        df, errors = _load(paths)
        _errors(errors)
        if df.height == 0:
            return EXIT_INPUT
        df = _pick(df, runs)
        long = confusion.confusion(df)
        value = "row_percent" if normalise else "count"
        parts = [
            (
                f"{run} ({'% of the true class' if normalise else 'counts'})",
                confusion.wide(long.filter(pl.col("run") == run), value),
            )
            for run in long.get_column("run").unique(maintain_order=True).to_list()
        ]
        parts.append(("class-wise recall, precision, F1 (%)", confusion.class_recall(df)))
        _show(parts, fmt)
        return EXIT_INPUT if errors else EXIT_OK

    return guarded(go)


def refusals_cmd(paths: Sequence[Path], fmt: str) -> int:
    from ger_replay.analysis.refusals import refusals

    def go() -> int:
        df, errors = _load(paths)
        _errors(errors)
        if df.height == 0:
            return EXIT_INPUT
        r = refusals(df, paths)
        parts = [("samples by status", r.statuses)]
        if r.calls.height:
            parts += [("calls and tokens", r.calls), ("refusal wordings", r.wordings)]
        else:
            _echo("(no recorded run folder among the inputs: no calls or tokens)", err=True)
        _show(parts, fmt)
        return EXIT_INPUT if errors else EXIT_OK

    return guarded(go)


def _side(path: Path) -> pl.DataFrame | dict[str, dict[str, object]]:
    """A predictions source, or a JSON scoring (`score --format json`)."""
    from ger_replay.score.expect import read_expected

    if path.is_file() and path.suffix.lower() == ".json":
        return read_expected(path)
    df, errors = _load([path])
    if errors:
        raise errors[0]
    if df.height == 0:
        raise InputError("holds no runs", path)
    return df


def diff_cmd(a: Path, b: Path, fmt: str, tolerance: float, limit: int) -> int:
    from ger_replay.analysis.diff import diff

    def go() -> int:
        d = diff(_side(a), _side(b), tolerance=tolerance)
        moved = d.metrics.filter(pl.col("moved"))
        parts = [("metric moves", moved if fmt != "json" else d.metrics)]
        parts.append((f"samples changed ({d.samples.height})", d.samples.head(limit)))
        _show(parts, fmt)
        _echo(
            f"{moved.height} run(s) moved, {d.samples.height} sample(s) changed "
            f"between {a} and {b}",
            err=True,
        )
        return EXIT_CHECK if d.changed else EXIT_OK

    return guarded(go)


def report_cmd(paths: Sequence[Path], out: Path, missing: str, ci: bool, seed: int) -> int:
    from ger_replay.report.build import build_report

    def go() -> int:
        df, errors = _load(paths)
        _errors(errors)
        if df.height == 0:
            return EXIT_INPUT
        res = build_report(df, out, paths, missing=missing, ci=ci, seed=seed)  # type: ignore[arg-type]
        _echo(f"report: {len(res.files)} file(s) in {out}; open {res.index}", err=True)
        for n in res.notes:
            _echo(f"  not shown: {n}", err=True)
        return EXIT_INPUT if errors else EXIT_OK

    return guarded(go)


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


def sets_cmd(loaded: LoadResult, paths: Sequence[Path], fmt: str, missing: str, seed: int) -> int:
    """`compare` over sets of runs: every set of runs that differ in one setting only (template,
    color, frames, modality), each level against the set's reference, then one Table 9 style
    view per factor (a row per level, a column per dataset)."""

    def go() -> int:
        from ger_replay.analysis import robustness

        df, errors = loaded.table, loaded.errors
        if df.height == 0:
            raise InputError("no runs to compare under " + ", ".join(map(str, paths)))
        long = robustness.robustness(df, missing=missing, seed=seed)  # type: ignore[arg-type]
        if long.height == 0:
            raise InputError(
                "no two runs differ in one setting only (template, color, frames or modality); "
                "name two runs with --run-a and --run-b to compare them directly"
            )
        parts = [("Sets of runs differing in one setting", long.select(SET_COLUMNS))]
        for factor in long.get_column("factor").unique(maintain_order=True).to_list():
            parts.append((f"{factor} (Table 9 layout)", robustness.wide(long, factor)))
        _show(parts, fmt)
        _errors(errors)
        return EXIT_INPUT if errors else EXIT_OK

    return guarded(go)
