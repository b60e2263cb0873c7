"""Each run's first row and its samples by status, from one streaming pass over the sources
(`ger-replay runs` over a predictions file of millions of rows, without loading it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ger_replay.errors import GerReplayError, repeated_runs
from ger_replay.io import table
from ger_replay.io.scan import Lazy
from ger_replay.score.coding import STATUS
from ger_replay.score.stream import per_run, tally_all
from ger_replay.score.tally import combine


def run_counts(srcs: Sequence[Lazy]) -> tuple[pl.DataFrame, list[GerReplayError]]:
    """One row per run, in order of first appearance: run, dataset, the run columns and
    synthetic of its first row; `n_total`, `n_answered` (status other than unanswered) and
    `n_ok`. Runs given twice or holding a sample twice are left out, named in an error."""
    errors: list[GerReplayError] = []
    _, parts, duplicated = tally_all(srcs, False, True, errors)
    if not parts:
        return pl.DataFrame(), errors
    t = combine(parts)
    statuses = t.values[STATUS]
    width = len(statuses)
    cells = t.run * width + t.sets[t.set, STATUS]
    by = per_run(cells, t.n, t.runs.height * width).reshape(t.runs.height, width)

    def count(status: str) -> np.ndarray:
        return by[:, statuses.index(status)] if status in statuses else np.zeros(len(by), int)

    n_total = by.sum(axis=1)
    runs = t.runs.with_columns(
        pl.Series("n_total", n_total, dtype=pl.Int64),
        pl.Series("n_answered", n_total - count(table.UNANSWERED), dtype=pl.Int64),
        pl.Series("n_ok", count(table.OK), dtype=pl.Int64),
    )
    if duplicated:
        errors.append(repeated_runs(duplicated))
        runs = runs.filter(~pl.col("run").is_in(sorted(duplicated)))
    return runs, errors
