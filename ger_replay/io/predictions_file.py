"""Opening a predictions file (Parquet, CSV or JSONL, as `import` and `export` write): the one
place that knows the formats. A CSV file's cells come back as they were written: protected cells
unframed (`neutral.csv_unframe`), list columns decoded from JSON arrays (or comma-separated
labels), flags as booleans."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from ger_replay.errors import InputError
from ger_replay.io.neutral import csv_unframe
from ger_replay.io.safe_read import check_regular

PREDICTION_SUFFIXES = (".parquet", ".csv", ".jsonl")
#: Errors of reading a table that name the file rather than end the run.
#: What reading a file may raise: polars' errors, and its panics on a malformed Parquet file
#: (a `BaseException`, caught so that one bad input never stops the others).
READ_ERRORS = (
    pl.exceptions.PolarsError,
    pl.exceptions.PanicException,
    OSError,
    ValueError,
    RecursionError,
)


def decode_list(cell: str | None) -> list[str] | None:
    """A CSV list cell: a JSON array, or labels separated by commas; None when empty."""
    if cell is None or cell == "":
        return None
    try:
        v = json.loads(cell)
    except json.JSONDecodeError:
        return [p.strip() for p in cell.split(",") if p.strip()]
    if not isinstance(v, list):
        raise ValueError(f"expected a JSON list, found {cell!r}")
    return [str(x) for x in v]


def _decode_lists(s: pl.Series) -> pl.Series:
    """A CSV list column decoded one distinct value at a time: the labels of a run repeat, so a
    batch holds few distinct cells."""
    uniq = s.unique()
    decoded = [decode_list(v) for v in uniq.to_list()]
    lookup = pl.DataFrame(
        {"k": uniq, "v": pl.Series(decoded, dtype=pl.List(pl.String))},
        schema={"k": pl.String, "v": pl.List(pl.String)},
    )
    return (
        pl.DataFrame({"k": s})
        .join(lookup, on="k", how="left", maintain_order="left")
        .get_column("v")
    )


def _decoded_csv(lf: pl.LazyFrame, names: list[str]) -> pl.LazyFrame:
    lf = csv_unframe(lf).with_columns(
        pl.col(c).map_batches(_decode_lists, return_dtype=pl.List(pl.String), is_elementwise=True)
        for c in ("ranking", "invented")
        if c in names
    )
    if "hedged" in names:
        lf = lf.with_columns(
            pl.col("hedged")
            .str.to_lowercase()
            .replace_strict({"true": True, "false": False}, default=None)
            .cast(pl.Boolean)
        )
    return lf


def open_lazy(path: Path) -> tuple[pl.LazyFrame, list[str]]:
    """The file as a LazyFrame with its cells decoded, and its column names. Raises InputError
    naming the file for an empty file, an unknown format or a file that cannot be read."""
    suffix = path.suffix.lower()
    try:
        if check_regular(path).st_size == 0:
            raise InputError("the file is empty", path)
        if suffix == ".parquet":
            lf = pl.scan_parquet(path)
        elif suffix == ".jsonl":
            lf = pl.scan_ndjson(path, infer_schema_length=None)
        elif suffix == ".csv":
            lf = pl.scan_csv(path, infer_schema=False)
        else:
            raise InputError("expected a .parquet, .csv or .jsonl predictions file", path)
        names = lf.collect_schema().names()
    except InputError:
        raise
    except READ_ERRORS as e:
        raise InputError(f"cannot read the predictions table: {e}", path) from None
    return (_decoded_csv(lf, names) if suffix == ".csv" else lf), names
