"""The predictions table of DESIGN.md: one row per (run, sample). Every analysis reads it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ger_replay.protocol.status import SAMPLE_STATUSES, Status

#: Status of one sample in one run, as the plain strings the table stores (`Status` values).
OK = Status.OK.value
REFUSED = Status.REFUSED.value
COUNT_MISMATCH = Status.COUNT_MISMATCH.value
UNPARSEABLE = Status.UNPARSEABLE.value
UNANSWERED = Status.UNANSWERED.value
NO_CANDIDATE = Status.NO_CANDIDATE.value
NO_LABEL = Status.NO_LABEL.value
STATUSES: tuple[str, ...] = tuple(s.value for s in SAMPLE_STATUSES)

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
    #: The ranking's first label as given (before folding), null without one: what the
    #: `paper` and `strict` rule sets read, stored so that scoring need not decode `ranking`.
    #: Always derived from `ranking` (`conform`), never set on its own.
    "first": pl.String(),
    "pred": pl.String(),
    "invented": pl.List(pl.String()),
    "status": pl.String(),
    "attempts": pl.Int32(),
    #: The answer named more than one label in prose; `pred` is the first (docs/PROTOCOL.md).
    "hedged": pl.Boolean(),
}

SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "dataset": pl.String(),
    **SAMPLE_COLUMNS,
    **{k: v for k, v in RUN_COLUMNS.items() if k not in ("run", "dataset")},
}


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def first_label(ranking: pl.Expr) -> pl.Expr:
    """The `first` column from the `ranking` column."""
    return ranking.list.first().alias("first")


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Adds missing columns as nulls, casts to the schema and orders the columns; extra columns
    (provenance, say) are kept after the schema's. `first` is always derived from `ranking`."""
    cols = []
    for name, dtype in SCHEMA.items():
        if name == "first":
            ranking = (
                pl.col("ranking").cast(SCHEMA["ranking"])
                if "ranking" in df.columns
                else pl.lit(None, dtype=SCHEMA["ranking"])
            )
            cols.append(first_label(ranking))
        elif name in df.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    extra = [c for c in df.columns if c not in SCHEMA]
    return df.select([*cols, *extra])


#: Joins labels for the fast build of list columns; a label holding it takes the slow path.
_SEP = "\x1f"


def list_series(name: str, values: Sequence[Sequence[str] | None]) -> pl.Series:
    """A list[str] column from Python lists. Built from joined strings split by polars, which
    is about ten times faster than polars' own conversion of nested lists; empty labels are
    dropped (an empty string is no label)."""
    vals = list(values)
    if any(_SEP in x for v in vals if v for x in v):
        return pl.Series(
            name,
            [[x for x in v if x] if v is not None else None for v in vals],
            dtype=pl.List(pl.String()),
        )
    joined = pl.Series(name, [None if v is None else _SEP.join(v) for v in vals], dtype=pl.String)
    split = joined.str.split(_SEP).list.eval(pl.element().filter(pl.element() != ""))
    return split.alias(name)


def run_frame(
    meta: Mapping[str, Any],
    sample_id: Sequence[str],
    gt: Sequence[str],
    ranking: Sequence[Sequence[str] | None],
    pred: Sequence[str | None],
    status: Sequence[str],
    invented: Sequence[Sequence[str]] | None = None,
    attempts: Sequence[int | None] | None = None,
    hedged: Sequence[bool | None] | None = None,
) -> pl.DataFrame:
    """One run's rows, built from columns and the run's metadata."""
    n = len(sample_id)
    df = pl.DataFrame(
        [
            pl.Series("sample_id", list(sample_id), dtype=pl.String),
            pl.Series("gt", list(gt), dtype=pl.String),
            list_series("ranking", ranking),
            pl.Series("pred", list(pred), dtype=pl.String),
            list_series("invented", invented if invented is not None else [[]] * n),
            pl.Series("status", list(status), dtype=pl.String),
            pl.Series(
                "attempts", list(attempts) if attempts is not None else [None] * n, dtype=pl.Int32
            ),
            pl.Series(
                "hedged", list(hedged) if hedged is not None else [None] * n, dtype=pl.Boolean
            ),
        ]
    )
    return with_meta(df, meta)


def with_meta(df: pl.DataFrame, meta: Mapping[str, Any]) -> pl.DataFrame:
    """Sample columns of one run plus the run's metadata, conformed to the schema."""
    return conform(
        df.with_columns([pl.lit(meta.get(k), dtype=t).alias(k) for k, t in RUN_COLUMNS.items()])
    )


def runs(df: pl.DataFrame) -> list[str]:
    """Run names in order of first appearance."""
    return df.get_column("run").unique(maintain_order=True).to_list()
