"""Writing the predictions table: Parquet, CSV (lists as JSON arrays) or JSONL by extension."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from ger_replay.errors import InputError
from ger_replay.io.rundir import atomic_write_text, file_mode

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
    """Writes atomically (a temporary file renamed into place), chosen by the extension."""
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise InputError(
            f"cannot write {suffix or 'a file without extension'}: use {', '.join(WRITABLE)}", path
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, file_mode())
    os.close(fd)
    try:
        if suffix == ".parquet":
            df.write_parquet(tmp)
        elif suffix == ".csv":
            _csv_ready(df).write_csv(tmp)
        else:
            df.write_ndjson(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Writes a text output (a table, a page) whole or not at all, with the usual file mode."""
    atomic_write_text(path, text)
