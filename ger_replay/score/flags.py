"""Flags of a run that every output shows: *partial* (too few samples answered) and
*synthetic* (run.json says so: the demo runs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from ger_replay.io import table

#: A run is *partial* when fewer than this share of its test samples got an answer from the
#: model (any status but `unanswered`: a refusal is an answer, a batch never sent is not). Partial
#: runs are flagged in every output and left out of summaries (stability, the report's counts).
PARTIAL_BELOW = 0.9


def run_flags(df: pl.DataFrame) -> pl.DataFrame:
    """One row per run: n_total, n_answered, answered (% of the samples the model answered),
    partial (answered below `PARTIAL_BELOW`) and synthetic (run.json says so: the demo runs)."""
    synthetic = (
        pl.col("synthetic").fill_null(False).any() if "synthetic" in df.columns else pl.lit(False)
    )
    return (
        df.group_by("run", maintain_order=True)
        .agg(
            pl.len().alias("n_total"),
            (pl.col("status") != table.UNANSWERED).sum().alias("n_answered"),
            synthetic.alias("synthetic"),
        )
        .with_columns((pl.col("n_answered") * 100 / pl.col("n_total")).alias("answered"))
        .with_columns((pl.col("answered") < PARTIAL_BELOW * 100).alias("partial"))
    )


def flagged(df: pl.DataFrame, flag: str) -> set[str]:
    """The runs of `df` with `flag` ("partial" or "synthetic") set."""
    if df.height == 0:
        return set()
    return set(run_flags(df).filter(pl.col(flag)).get_column("run").to_list())


def flags(status_counts: Mapping[str, int], synthetic: object) -> dict[str, Any]:
    """A score row's answered (% of samples with an answer), partial and synthetic, from its
    samples by status."""
    n = sum(status_counts.values())
    n_answered = n - status_counts.get(table.UNANSWERED, 0)
    return {
        "answered": n_answered * 100 / n if n else None,
        "partial": bool(n) and n_answered < PARTIAL_BELOW * n,
        "synthetic": bool(synthetic),
    }
