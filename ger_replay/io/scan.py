"""Predictions tables as polars LazyFrames: scanned, never read whole.

A predictions file (Parquet, CSV or JSONL, as `import` and `export` write) or a folder holding
only Parquet files becomes one lazy source per file; any other input (run folders, bundles,
released predictions) is loaded by `ger_replay.io.load` and wrapped. Scanning checks
what it can without reading the rows (size, columns); values (statuses, labels) are checked by
the scorer on the grouped rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import load as sources
from ger_replay.io import table
from ger_replay.io.predictions_file import PREDICTION_SUFFIXES, open_lazy

REQUIRED = ("run", "dataset", "sample_id", "gt", "status", "pred")


@dataclass(frozen=True)
class Lazy:
    """One input as a lazy predictions table. `path` names it in errors; `columns` are the
    columns it really holds (before conforming), which tell the scorer what it can trust."""

    frame: pl.LazyFrame
    path: Path | None
    columns: frozenset[str]
    #: the parts of a folder of Parquet files, each also read alone (`frame` is all of them)
    parts: tuple[pl.LazyFrame, ...] = ()
    #: the Parquet file of each part (of the source itself when it is one), which the scorer
    #: may read without polars (`ger_replay.io.parquet_groups`)
    files: tuple[Path, ...] = ()


@dataclass
class Scanned:
    sources: list[Lazy] = field(default_factory=list)
    errors: list[GerReplayError] = field(default_factory=list)


def conform(lf: pl.LazyFrame, names: Sequence[str], keep_first: bool = False) -> pl.LazyFrame:
    """`table.conform` for a LazyFrame whose columns are `names`. With `keep_first`, a `first`
    column the file holds is read as it is (Parquet files that `import` and `export` wrote), so
    that scoring does not decode `ranking`; otherwise it is derived from `ranking`."""
    cols = [
        pl.col(c).cast(t) if c in names else pl.lit(None, dtype=t).alias(c)
        for c, t in table.SCHEMA.items()
    ]
    if not (keep_first and "first" in names):
        cols[list(table.SCHEMA).index("first")] = table.first_label(
            cols[list(table.SCHEMA).index("ranking")]
        )
    return lf.select([*cols, *[c for c in names if c not in table.SCHEMA]])


def scan_file(path: Path) -> Lazy:
    """A predictions file as a LazyFrame, conformed to the schema. Raises InputError naming the
    file for an empty file, an unknown format or missing columns."""
    lf, names = open_lazy(path)
    missing = sorted(set(REQUIRED) - set(names))
    if missing:
        raise InputError(
            f"not a predictions table: missing column(s) {', '.join(missing)} "
            f"(found {', '.join(names) or 'none'})",
            path,
        )
    parquet = path.suffix.lower() == ".parquet"
    files = (path,) if parquet else ()
    return Lazy(conform(lf, names, keep_first=parquet), path, frozenset(names), files=files)


def _parquet_folder(path: Path) -> list[Path] | None:
    """The Parquet files of a folder that holds nothing else (a partitioned predictions table),
    sorted; None otherwise."""
    if not path.is_dir() or path.is_symlink() or sources.claims(path):
        return None
    files = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if not files or any(
        p.is_symlink() or not p.is_file() or p.suffix.lower() != ".parquet" for p in files
    ):
        return None
    return files


def is_scannable(path: Path) -> bool:
    """A predictions file or a folder of Parquet files: scanned, not read."""
    if path.is_file() and not path.is_symlink():
        return path.suffix.lower() in PREDICTION_SUFFIXES
    return _parquet_folder(path) is not None


def scan(paths: Sequence[str | Path], labels: dict[str, str] | None = None) -> Scanned:
    """Every input under `paths` as lazy sources, with the errors of what could not be read.
    Predictions files and folders of Parquet files are scanned; anything else is loaded in
    memory."""
    out = Scanned()
    eager: list[Path] = []
    for p in map(Path, paths):
        files: list[Path] | None = None
        if p.exists() and is_scannable(p):
            files = [p] if p.is_file() else _parquet_folder(p)
        if files is None:
            eager.append(p)
            continue
        parts: list[Lazy] = []
        for f in files:
            try:
                parts.append(scan_file(f))
            except GerReplayError as e:
                out.errors.append(e)
        if len(parts) == 1 or (parts and p.is_file()):
            out.sources.extend(parts)
        elif parts:
            # A folder of Parquet parts is one table: a run may be split over its parts.
            frame = pl.concat([x.frame for x in parts], how="diagonal_relaxed")
            names = frozenset().union(*(x.columns for x in parts))
            files = tuple(f for x in parts for f in x.files)
            out.sources.append(Lazy(frame, p, names, tuple(x.frame for x in parts), files))
    if eager:
        got = sources.load(eager, labels=labels)
        out.errors.extend(got.errors)
        if got.table.height:
            out.sources.append(in_memory(got.table))
    return out


def in_memory(df: pl.DataFrame) -> Lazy:
    """An in-memory predictions table as a lazy source."""
    return Lazy(table.conform(df).lazy(), None, frozenset(df.columns))


#: More clashing hashes than this within one source cannot be collisions of distinct keys (at
#: 2^-64 per pair): their runs hold duplicates without a check of the strings.
CONFIRM_MAX = 100_000
_DUP_SEED = 0x6765722D


def duplicated_runs(srcs: Sequence[Lazy], runs_of: Sequence[Sequence[str]] = ()) -> list[str]:
    """Runs that hold some sample twice, sorted: a run found in two sources (`runs_of[i]`: the
    runs of `srcs[i]`), or a (run, sample_id) twice within one source. Within a source, a 64-bit
    hash of (run, sample_id) per row is sorted (8 bytes a row, one source at a time); equal
    hashes are confirmed on the strings of the rows that carry them."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for i, names in enumerate(runs_of):
        for r in names:
            if seen.setdefault(r, i) != i:
                found.add(r)
    key = pl.struct("run", "sample_id").hash(seed=_DUP_SEED).alias("h")
    for src in srcs:
        h = _hashes(src.frame, key)
        h.sort()
        same = h[1:][h[1:] == h[:-1]]  # sorted: its distinct values without another sort
        del h
        clash = same[np.r_[True, same[1:] != same[:-1]]] if same.size else same
        if clash.size == 0:
            continue
        hits = src.frame.select("run", "sample_id", key).join(
            pl.DataFrame({"h": clash}, schema={"h": pl.UInt64}).lazy(), on="h", how="semi"
        )
        if clash.size > CONFIRM_MAX:
            dup = hits.select(pl.col("run").unique()).collect(engine="streaming")
        else:
            dup = (
                hits.group_by("run", "sample_id")
                .len()
                .filter(pl.col("len") > 1)
                .select(pl.col("run").unique())
                .collect(engine="streaming")
            )
        found.update(dup.get_column("run").to_list())
    return sorted(found)


def _hashes(lf: pl.LazyFrame, key: pl.Expr) -> np.ndarray:
    """The hash column as one writable array, filled batch by batch: 8 bytes a row, no copy."""
    n = int(lf.select(pl.len()).collect(engine="streaming").item())
    out = np.empty(n, dtype=np.uint64)
    at = 0
    for batch in lf.select(key).collect_batches(engine="streaming"):
        part = batch.to_series().to_numpy()
        if at + len(part) > n:
            raise InputError("the table changed while it was read")
        out[at : at + len(part)] = part
        at += len(part)
    return out[:at]
