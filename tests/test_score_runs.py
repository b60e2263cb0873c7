"""`runsets.score_runs` (the score rows of `report`, `stability` and `robustness`), scored in one
pass with intervals from confusion counts, against each run scored on its own with a bootstrap
over its samples: equal bit for bit, and the first run that cannot be scored is named."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from test_score_stream import generated

from ger_replay.analysis import runsets
from ger_replay.errors import InputError
from ger_replay.score import scoring
from ger_replay.stats.bootstrap import bootstrap_ci


def _alone(run_df: pl.DataFrame, rules: str) -> dict[str, Any]:
    """One run scored on its own: its value, counts, baselines and a bootstrap over its samples."""
    c = scoring.code_run(run_df, rules=rules)
    s = scoring.score_coded(c)
    t, p = c.select()
    metric = scoring.METRIC_KEY[c.dataset.metric]
    lo, hi = bootstrap_ci(
        np.ascontiguousarray(t, dtype=np.int64),
        np.ascontiguousarray(p, dtype=np.int64),
        metric=metric,
        n_resamples=300,
        seed=4,
    )
    keys = ("value", "n_scored", "n_total", "coverage", "majority", "random", "paper", "delta")
    return {**{k: s[k] for k in keys}, "ci_low": lo, "ci_high": hi}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@pytest.mark.parametrize("rules", ["paper", "strict", "lenient"])
def test_score_runs_equal_each_run_scored_alone(rules: str) -> None:
    df = generated(seed=9, n=70, runs_per=2)
    got = runsets.score_runs(df, rules, ci=True, n_resamples=300, seed=4)
    runs = df.partition_by("run", maintain_order=True)
    assert got.get_column("run").to_list() == [r.item(0, "run") for r in runs]
    for row, run_df in zip(got.iter_rows(named=True), runs, strict=True):
        want = _alone(run_df, rules)
        assert all(_same(row[k], v) for k, v in want.items()), (row["run"], row, want)
    assert got.get_column("ci_low").null_count() == 0
    plain = runsets.score_runs(df, rules, ci=False)
    assert plain.get_column("ci_low").null_count() == plain.height
    assert plain.drop("ci_low", "ci_high").equals(got.drop("ci_low", "ci_high"))


def test_the_first_run_that_cannot_be_scored_is_named() -> None:
    df = generated(seed=1, n=20, runs_per=1)
    bad = df.with_columns(
        pl.when(pl.col("run") == "dfew/gen-0").then(pl.lit("Joyful")).otherwise("gt").alias("gt")
    )
    with pytest.raises(InputError, match=r"run dfew/gen-0, sample s0000: .*'Joyful'"):
        runsets.score_runs(bad, "paper", ci=False)
