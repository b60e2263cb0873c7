"""`ger-replay diff A B`: what changed between two scorings of the same runs.

A and B are predictions (files, run folders, released predictions) or a JSON scoring written by
`score --format json` (as `--expect` uses). Between two predictions: every sample whose label or
status changed, and the metric moves. Against a JSON scoring only the metric moves are known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from ger_replay.errors import InputError
from ger_replay.score.scoring import RuleSet, score_table

SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "sample_id": pl.String(),
    "gt": pl.String(),
    "change": pl.String(),
    "pred_a": pl.String(),
    "pred_b": pl.String(),
    "status_a": pl.String(),
    "status_b": pl.String(),
}

METRIC_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "metric": pl.String(),
    "value_a": pl.Float64(),
    "value_b": pl.Float64(),
    "delta": pl.Float64(),
    "n_scored_a": pl.Int64(),
    "n_scored_b": pl.Int64(),
    "n_total_a": pl.Int64(),
    "n_total_b": pl.Int64(),
    "moved": pl.Boolean(),
}


@dataclass
class Diff:
    #: a row per sample whose label or status changed, or that is only in one side
    samples: pl.DataFrame
    #: a row per run in either side
    metrics: pl.DataFrame

    @property
    def changed(self) -> bool:
        return self.samples.height > 0 or bool(self.metrics.get_column("moved").any())


def sample_changes(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Samples whose prediction or status differs between two predictions tables."""
    cols = ["run", "sample_id", "gt", "pred", "status"]
    j = a.select(cols).join(
        b.select(cols), on=["run", "sample_id"], how="full", coalesce=True, suffix="_b"
    )
    j = j.rename({"pred": "pred_a", "status": "status_a"})
    change = (
        pl.when(pl.col("status_a").is_null())
        .then(pl.lit("only in B"))
        .when(pl.col("status_b").is_null())
        .then(pl.lit("only in A"))
        .when(pl.col("status_a") != pl.col("status_b"))
        .then(pl.lit("status"))
        .when(pl.col("pred_a").eq_missing(pl.col("pred_b")).not_())
        .then(pl.lit("label"))
    )
    out = (
        j.with_columns(change.alias("change"), pl.coalesce("gt", "gt_b").alias("gt"))
        .filter(pl.col("change").is_not_null())
        .sort("run", "sample_id")
    )
    return out.select(list(SAMPLE_SCHEMA)).cast(SAMPLE_SCHEMA)  # type: ignore[arg-type]


def metric_moves(
    rows_a: Mapping[str, Mapping[str, Any]],
    rows_b: Mapping[str, Mapping[str, Any]],
    tolerance: float = 1e-9,
) -> pl.DataFrame:
    """A row per run of either scoring: both values, their difference and whether it moved."""
    out = []
    for run in [*rows_a, *(r for r in rows_b if r not in rows_a)]:
        ra, rb = rows_a.get(run, {}), rows_b.get(run, {})
        va, vb = ra.get("value"), rb.get("value")
        delta = vb - va if va is not None and vb is not None else None
        moved = (
            (va is None) != (vb is None)
            or (delta is not None and not math.isclose(delta, 0.0, abs_tol=tolerance))
            or ra.get("n_scored") != rb.get("n_scored")
            or ra.get("n_total") != rb.get("n_total")
        )
        out.append(
            {
                "run": run,
                "metric": ra.get("metric") or rb.get("metric"),
                "value_a": va,
                "value_b": vb,
                "delta": delta,
                "n_scored_a": ra.get("n_scored"),
                "n_scored_b": rb.get("n_scored"),
                "n_total_a": ra.get("n_total"),
                "n_total_b": rb.get("n_total"),
                "moved": bool(moved),
            }
        )
    return pl.DataFrame(out, schema=METRIC_SCHEMA)


def score_rows(df: pl.DataFrame, rules: RuleSet | str = "paper") -> dict[str, dict[str, Any]]:
    res = score_table(df, rules)
    if res.errors:
        raise res.errors[0]
    return {r["run"]: r for r in res.rows}


def diff(
    a: pl.DataFrame | Mapping[str, Mapping[str, Any]],
    b: pl.DataFrame | Mapping[str, Mapping[str, Any]],
    rules: RuleSet | str = "paper",
    tolerance: float = 1e-9,
) -> Diff:
    """Compare two scorings. Each side is a predictions table or the rows of a JSON scoring
    (run -> {value, n_scored, n_total, ...})."""
    rows_a = score_rows(a, rules) if isinstance(a, pl.DataFrame) else a
    rows_b = score_rows(b, rules) if isinstance(b, pl.DataFrame) else b
    if isinstance(a, pl.DataFrame) != isinstance(b, pl.DataFrame):
        scoring = rows_b if isinstance(a, pl.DataFrame) else rows_a
        other = {str(r.get("rules")) for r in scoring.values() if r.get("rules")} - {str(rules)}
        if other:
            raise InputError(
                f"the JSON scoring was made under the {', '.join(sorted(other))} rules; "
                f"pass --rules {sorted(other)[0]} to compare it with predictions"
            )
    if len(rows_a) == 1 and len(rows_b) == 1 and set(rows_a) != set(rows_b):
        a, b, rows_a, rows_b = _one_pair(a, b, rows_a, rows_b)
    if isinstance(a, pl.DataFrame) and isinstance(b, pl.DataFrame):
        samples = sample_changes(a, b)
    else:
        samples = pl.DataFrame(schema=SAMPLE_SCHEMA)
    return Diff(samples, metric_moves(rows_a, rows_b, tolerance))


def _one_pair(
    a: pl.DataFrame | Mapping[str, Mapping[str, Any]],
    b: pl.DataFrame | Mapping[str, Mapping[str, Any]],
    rows_a: Mapping[str, Mapping[str, Any]],
    rows_b: Mapping[str, Mapping[str, Any]],
) -> tuple[Any, Any, dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
    """One run on each side under different names (two runs of one dataset): matched with each
    other, sample by sample id, under the name "A vs B"."""
    (name_a, ra), (name_b, rb) = next(iter(rows_a.items())), next(iter(rows_b.items()))
    if ra.get("dataset") != rb.get("dataset"):
        raise InputError(
            f"diff compares runs of one dataset: {name_a} is {ra.get('dataset')}, "
            f"{name_b} is {rb.get('dataset')}"
        )
    pair = f"{name_a} vs {name_b}"
    if isinstance(a, pl.DataFrame):
        a = a.with_columns(pl.lit(pair).alias("run"))
    if isinstance(b, pl.DataFrame):
        b = b.with_columns(pl.lit(pair).alias("run"))
    return a, b, {pair: ra}, {pair: rb}


__all__ = ["Diff", "diff", "metric_moves", "sample_changes"]
