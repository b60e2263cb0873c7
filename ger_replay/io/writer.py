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


def write_table(df: pl.DataFrame, path: Path) -> None:
    """Writes atomically (a temporary file, fsync, rename), chosen by the extension. CSV cells
    that a spreadsheet would take as a formula get a leading quote (undone when read back)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise InputError(
            f"cannot write {suffix or 'a file without extension'}: use {', '.join(WRITABLE)}", path
        )
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
