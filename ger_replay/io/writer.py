"""Writing the predictions table: Parquet, CSV (lists as JSON arrays) or JSONL by extension."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ger_replay.errors import InputError
from ger_replay.io.atomic import atomic_path, write_error
from ger_replay.io.neutral import csv_frame
from ger_replay.io.scrub import scrub_frame

WRITABLE = (".parquet", ".csv", ".jsonl")


def _csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    lists = [c for c, t in df.schema.items() if isinstance(t, pl.List)]
    return df.with_columns(
        [pl.col(c).map_elements(_json_list, return_dtype=pl.String).alias(c) for c in lists]
    )


def _json_list(v: pl.Series | list[str] | None) -> str | None:
    import json

    if v is None:
        return None
    return json.dumps(list(v), ensure_ascii=False)


def _writable_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise InputError(
            f"cannot write {suffix or 'a file without extension'}: use {', '.join(WRITABLE)}", path
        )
    return suffix


def write_table(df: pl.DataFrame, path: Path) -> None:
    """Writes atomically (a temporary file, fsync, rename), chosen by the extension. CSV cells
    that a spreadsheet would take as a formula get a leading quote (undone when read back)."""
    path = Path(path)
    suffix = _writable_suffix(path)
    df = scrub_frame(df)
    try:
        with atomic_path(path) as tmp:
            if suffix == ".parquet":
                df.write_parquet(tmp)
            elif suffix == ".csv":
                csv_frame(_csv_ready(df)).write_csv(tmp)
            else:
                df.write_ndjson(tmp)
    except OSError as e:
        raise write_error(e, path) from None


def _json_lists(s: pl.Series) -> pl.Series:
    """A list column as JSON arrays, one distinct value at a time."""
    uniq = s.unique()
    enc = pl.Series([_json_list(v) for v in uniq.to_list()], dtype=pl.String)
    lookup = pl.DataFrame({"k": uniq, "v": enc})
    return pl.DataFrame({"k": s}).join(lookup, on="k", how="left", maintain_order="left")["v"]


def sink_table(lf: pl.LazyFrame, path: Path) -> None:
    """`write_table` for a LazyFrame, streamed to the file (memory does not grow with the rows):
    the same scrubbing, CSV cells and atomic write."""
    path = Path(path)
    suffix = _writable_suffix(path)
    lf = scrub_frame(lf)
    try:
        with atomic_path(path) as tmp:
            if suffix == ".parquet":
                lf.sink_parquet(tmp, engine="streaming")
            elif suffix == ".csv":
                lists = [c for c, t in lf.collect_schema().items() if isinstance(t, pl.List)]
                encoded = lf.with_columns(
                    pl.col(c).map_batches(_json_lists, return_dtype=pl.String, is_elementwise=True)
                    for c in lists
                )
                csv_frame(encoded).sink_csv(tmp, engine="streaming")
            else:
                lf.sink_ndjson(tmp, engine="streaming")
    except OSError as e:
        raise write_error(e, path) from None
