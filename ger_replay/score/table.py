"""The predictions table of DESIGN.md: one row per (run, sample). Every analysis reads it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

#: Status of one sample in one run.
OK = "ok"
REFUSED = "refused"
COUNT_MISMATCH = "count_mismatch"
UNPARSEABLE = "unparseable"
UNANSWERED = "unanswered"
#: Answered, but no label in the ranking is one of the dataset's candidates.
NO_CANDIDATE = "no_candidate"
STATUSES = (OK, REFUSED, COUNT_MISMATCH, UNPARSEABLE, UNANSWERED, NO_CANDIDATE)

#: Run metadata carried on every row (constant within a run).
RUN_COLUMNS: dict[str, pl.DataType] = {
    "run": pl.String(),
    "dataset": pl.String(),
    "model": pl.String(),
    "template": pl.String(),
    "frames": pl.Int32(),
    "color": pl.String(),
    "modality": pl.String(),
    "repeat": pl.Int32(),
    "source": pl.String(),
}

SAMPLE_COLUMNS: dict[str, pl.DataType] = {
    "sample_id": pl.String(),
    "gt": pl.String(),
    "ranking": pl.List(pl.String()),
    "pred": pl.String(),
    "invented": pl.List(pl.String()),
    "status": pl.String(),
    "attempts": pl.Int32(),
}

SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "dataset": pl.String(),
    **SAMPLE_COLUMNS,
    **{k: v for k, v in RUN_COLUMNS.items() if k not in ("run", "dataset")},
}


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Adds missing columns as nulls, casts to the schema and orders the columns; extra columns
    (provenance, say) are kept after the schema's."""
    cols = []
    for name, dtype in SCHEMA.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    extra = [c for c in df.columns if c not in SCHEMA]
    return df.select([*cols, *extra])


def run_frame(
    meta: Mapping[str, Any],
    sample_id: Sequence[str],
    gt: Sequence[str],
    ranking: Sequence[Sequence[str] | None],
    pred: Sequence[str | None],
    status: Sequence[str],
    invented: Sequence[Sequence[str]] | None = None,
    attempts: Sequence[int | None] | None = None,
) -> pl.DataFrame:
    """One run's rows, built from columns and the run's metadata."""
    n = len(sample_id)
    data: dict[str, Any] = {
        "sample_id": list(sample_id),
        "gt": list(gt),
        "ranking": [list(r) if r is not None else None for r in ranking],
        "pred": list(pred),
        "invented": [list(x) for x in invented] if invented is not None else [[] for _ in range(n)],
        "status": list(status),
        "attempts": list(attempts) if attempts is not None else [None] * n,
    }
    df = pl.DataFrame(data, schema={k: SAMPLE_COLUMNS[k] for k in data})
    df = df.with_columns([pl.lit(meta.get(k), dtype=t).alias(k) for k, t in RUN_COLUMNS.items()])
    return conform(df)


def with_meta(df: pl.DataFrame, meta: Mapping[str, Any]) -> pl.DataFrame:
    """Sample columns of one run plus the run's metadata, conformed to the schema."""
    return conform(
        df.with_columns([pl.lit(meta.get(k), dtype=t).alias(k) for k, t in RUN_COLUMNS.items()])
    )


def runs(df: pl.DataFrame) -> list[str]:
    """Run names in order of first appearance."""
    return df.get_column("run").unique(maintain_order=True).to_list()
