"""Robustness over sets of runs that differ in one factor: prompt template, color space, number
of frames, input modality (text, video, fusion: the paper's Table 9).

Every level is scored with its interval and compared with the set's reference level (template 1,
RGB, the most frames, the fused input): the difference, and where the bootstrap module is there,
a paired interval and p-value on the samples both runs hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from ger_replay.analysis import runsets
from ger_replay.analysis.runsets import FACTORS, FactorSet
from ger_replay.errors import InputError
from ger_replay.score import scoring
from ger_replay.score.scoring import RuleSet
from ger_replay.stats.paired import BootstrapOptions, pair, paired_diff

#: The order levels are shown in; the reference level is marked by `reference_level`.
LEVEL_ORDER: dict[str, list[str]] = {
    "template": ["1", "2", "3"],
    "color": ["rgb", "gray"],
    "frames": ["1", "2", "3", "4", "5", "6", "8"],
    "modality": ["text", "image", "video", "image+text", "multi"],
}

SCHEMA: dict[str, Any] = {
    "factor": pl.String,
    "dataset": pl.String,
    "column": pl.String,
    "fixed": pl.String,
    "level": pl.String,
    "reference": pl.Boolean,
    "run": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_scored": pl.Int64,
    "coverage": pl.Float64,
    "delta": pl.Float64,
    "delta_low": pl.Float64,
    "delta_high": pl.Float64,
    "p_value": pl.Float64,
}


def _sort_key(factor: str, level: str) -> tuple[int, str]:
    order = LEVEL_ORDER.get(factor, [])
    return (order.index(level) if level in order else len(order), level)


def reference_level(factor: str, levels: Sequence[str]) -> str:
    """The level the others are compared with."""
    if factor == "frames":
        nums = [int(x) for x in levels if x.isdigit()]
        return str(max(nums)) if nums else levels[0]
    pref = {"template": "1", "color": "rgb", "modality": "multi"}.get(factor)
    return pref if pref in levels else sorted(levels, key=lambda x: _sort_key(factor, x))[0]


def _paired(
    ref: scoring.Coded, other: scoring.Coded, opts: BootstrapOptions
) -> tuple[float | None, float | None, float | None]:
    """The paired interval and p-value of other - ref (the one paired path of `stats.paired`),
    or Nones where the two share no scorable sample."""
    try:
        p = pair(ref, other)
    except InputError:
        return None, None, None
    d = paired_diff(p, scoring.METRIC_KEY[ref.dataset.metric], opts)
    return float(d["ci_low"]), float(d["ci_high"]), float(d["p_value"])


def _set_rows(
    fs: FactorSet,
    df: pl.DataFrame,
    scores: dict[str, dict[str, Any]],
    rules: RuleSet | str,
    opts: BootstrapOptions,
) -> list[dict[str, Any]]:
    levels = sorted(fs.levels, key=lambda lv: _sort_key(fs.factor, lv[0]))
    ref_level = reference_level(fs.factor, [lv for lv, _ in levels])
    ref_run = dict(levels)[ref_level]
    coded = {
        run: scoring.code_run(df.filter(pl.col("run") == run), rules=rules) for _, run in levels
    }
    ref_val = scores[ref_run]["value"]
    fixed = runsets.setting_label(fs.fixed, [c for c in runsets.SETTING_COLUMNS if c in fs.fixed])
    out = []
    for level, run in levels:
        s = scores[run]
        is_ref = run == ref_run
        lo = hi = p = None
        if not is_ref:
            lo, hi, p = _paired(coded[ref_run], coded[run], opts)
        out.append(
            {
                "factor": fs.factor,
                "dataset": fs.dataset,
                "column": runsets.column_label(fs.dataset, fs.subset),
                "fixed": fixed,
                "level": level,
                "reference": is_ref,
                "run": run,
                "metric": s["metric"],
                "value": s["value"],
                "ci_low": s["ci_low"],
                "ci_high": s["ci_high"],
                "n_scored": s["n_scored"],
                "coverage": s["coverage"],
                "delta": None if is_ref else s["value"] - ref_val,
                "delta_low": lo,
                "delta_high": hi,
                "p_value": p,
            }
        )
    return out


def robustness(
    df: pl.DataFrame,
    factors: Sequence[str] = FACTORS,
    rules: RuleSet | str = "paper",
    ci: bool = True,
    seed: int = 0,
    n_resamples: int = 2000,
) -> pl.DataFrame:
    """A row per (robustness set, level): the run's score and its difference from the
    reference level, with `n_resamples` bootstrap resamples for the intervals. Empty where no
    runs differ in only one of `factors`."""
    sets = runsets.factor_sets(df, factors)
    if not sets:
        return pl.DataFrame(schema=SCHEMA)
    runs = sorted({run for fs in sets for _, run in fs.levels})
    sub = df.filter(pl.col("run").is_in(runs))
    scores = {
        r["run"]: r
        for r in runsets.score_runs(sub, rules, ci, n_resamples, seed=seed).iter_rows(named=True)
    }
    opts = BootstrapOptions(n_resamples=n_resamples, seed=seed)
    rows = [row for fs in sets for row in _set_rows(fs, sub, scores, rules, opts)]
    return pl.DataFrame(rows, schema=SCHEMA)


def wide(long: pl.DataFrame, factor: str) -> pl.DataFrame:
    """Table 9 style: a row per level of `factor`, a column per dataset, values the metric."""
    sub = long.filter(pl.col("factor") == factor)
    if sub.height == 0:
        return pl.DataFrame({"level": []}, schema={"level": pl.String})
    levels = sorted(sub.get_column("level").unique().to_list(), key=lambda x: _sort_key(factor, x))
    out = sub.pivot(on="column", index="level", values="value", aggregate_function="first")
    return (
        out.join(pl.DataFrame({"level": levels, "_o": list(range(len(levels)))}), on="level")
        .sort("_o")
        .drop("_o")
    )
