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
from ger_replay.errors import GerReplayError, repeated_runs
from ger_replay.io import load, provenance, scan, table
from ger_replay.io.provenance import PROVENANCE
from ger_replay.io.writer import sink_table, write_table


@dataclass
class Exported:
    table: pl.DataFrame
    errors: list[GerReplayError] = field(default_factory=list)
    #: rows written, where the table was streamed rather than held (`table` is then empty)
    streamed_rows: int | None = None

    @property
    def rows(self) -> int:
        return self.table.height if self.streamed_rows is None else self.streamed_rows


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
    """Writes the table with provenance to `out` (.parquet, .csv or .jsonl). Predictions files
    and folders of Parquet files are streamed (`export_lazy`); anything else is read first."""
    paths = [Path(p) for p in paths]
    if all(p.exists() and scan.is_scannable(p) for p in paths):
        return export_lazy(paths, Path(out))
    got = collect(paths)
    write_table(got.table, Path(out))
    return got


def export_lazy(paths: Sequence[Path], out: Path) -> Exported:
    """`export` of predictions files and folders of Parquet files, streamed from the inputs to
    `out` without holding the rows in memory. `Exported.table` is empty (nothing was read)."""
    got = scan.scan(paths)
    errors: list[GerReplayError] = list(got.errors)
    frames = []
    for src in got.sources:
        names = src.frame.collect_schema().names()
        missing = [pl.lit(None, dtype=t).alias(c) for c, t in PROVENANCE.items() if c not in names]
        frames.append(src.frame.with_columns(missing) if missing else src.frame)
    if not frames:
        write_table(_with_all_columns(table.empty()), out)
        return Exported(_with_all_columns(table.empty()), errors)
    lf = pl.concat(frames, how="diagonal_relaxed")
    runs_of = [
        s.frame.select(pl.col("run").unique()).collect(engine="streaming").to_series().to_list()
        for s in got.sources
    ]
    clash = scan.duplicated_runs(got.sources, runs_of)
    if clash:
        errors.append(repeated_runs(clash))
        lf = lf.filter(~pl.col("run").is_in(clash))
    lf = lf.with_columns(
        *[pl.col(c).cast(t) for c, t in PROVENANCE.items() if c != "exported_with"],
        pl.lit(f"ger-replay {__version__}", dtype=PROVENANCE["exported_with"]).alias(
            "exported_with"
        ),
    )
    names = lf.collect_schema().names()
    rest = [c for c in names if c not in table.SCHEMA and c not in PROVENANCE]
    sink_table(lf.select([*table.SCHEMA, *PROVENANCE, *rest]), out)
    return Exported(_with_all_columns(table.empty()), errors, _rows_written(out))


def _rows_written(out: Path) -> int:
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        lf = pl.scan_parquet(out)
    elif suffix == ".csv":
        lf = pl.scan_csv(out, infer_schema=False)
    else:
        lf = pl.scan_ndjson(out, infer_schema_length=1)
    return int(lf.select(pl.len()).collect(engine="streaming").item())
