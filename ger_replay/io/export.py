"""`ger-replay export`: the predictions table with its provenance, as Parquet, CSV or JSONL.

Each row carries, beside the table's own columns, where it came from: the run's metadata from
its run.json (endpoint, batch size, tries, seed, created, the tool version that recorded it), the
bundle it was read from and that bundle's sha256, and the tool version that exported it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ger_replay._version import __version__
from ger_replay.errors import GerReplayError
from ger_replay.io import load, provenance, table
from ger_replay.io.provenance import PROVENANCE
from ger_replay.io.writer import write_table


@dataclass
class Exported:
    table: pl.DataFrame
    errors: list[GerReplayError] = field(default_factory=list)


def collect(paths: Sequence[Path]) -> Exported:
    """Every run under `paths` with its provenance."""
    got = load.load(paths)
    if got.table.height == 0:
        return Exported(_with_all_columns(table.empty()), got.errors)
    parts = []
    for part in got.table.partition_by("run", maintain_order=True):
        run = str(part.get_column("run")[0])
        prov = got.provenance.get(run)
        if prov is not None:
            part = provenance.with_provenance(part, prov)
        parts.append(part)
    df = pl.concat(parts, how="diagonal_relaxed")
    df = df.with_columns(pl.lit(f"ger-replay {__version__}").alias("exported_with"))
    return Exported(_with_all_columns(df), got.errors)


def _with_all_columns(df: pl.DataFrame) -> pl.DataFrame:
    df = table.conform(df)
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in PROVENANCE.items() if c not in df.columns]
    df = df.with_columns(missing) if missing else df
    cast = [pl.col(c).cast(t) for c, t in PROVENANCE.items()]
    front = list(table.SCHEMA)
    rest = [c for c in df.columns if c not in table.SCHEMA and c not in PROVENANCE]
    return df.with_columns(cast).select([*front, *PROVENANCE, *rest])


def export(paths: Sequence[Path], out: Path) -> Exported:
    """Writes the table with provenance to `out` (.parquet, .csv or .jsonl)."""
    got = collect(paths)
    write_table(got.table, Path(out))
    return got
