"""One pass over a predictions source: each run's rows counted by distinct (gt, status, pred,
first label), each run's first row, and the runs that hold a sample twice.

A Parquet file whose counted columns are strings is read by the Rust core a row group at a
time (`_read_direct`, `ger_replay.io.parquet_groups`): its columns as the file stores them, a
dictionary of distinct values and a code a row, so each distinct value is looked at once per
batch; the run columns are read at first rows only. Any other source, or a Parquet file the
core does not read that way, is read by polars as follows.

The counted columns come from polars in batches (`CHUNK` rows of a Parquet file or an
in-memory table at a time, the next read while one is counted; else as the streaming engine
gives them). Each batch goes to the Rust core (`_core.Tally`) column by column, chunk by chunk,
through the Arrow C stream interface, so no value becomes a Python object, and the core counts
it on every thread. The run columns (dataset, model, ...) are needed at each run's first row
only: they are read with the counted ones while first rows keep coming (runs one after
another), else afterwards at the first rows (runs that interleave). Memory grows with the runs,
their distinct values and the distinct sample ids (the duplicate check keeps each run's sample
ids as bits; past a bound, eight bytes a row: `rust_core/src/tally/seen.rs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
import polars as pl

import ger_replay._core as _core
from ger_replay.errors import CoreError, InputError
from ger_replay.io import scan, table
from ger_replay.io.parquet_groups import ParquetGroups
from ger_replay.io.predictions_file import READ_ERRORS
from ger_replay.io.scan import Lazy

#: The run columns a score row uses (`source`, where a run came from, is not one).
META = [c for c in table.RUN_COLUMNS if c not in ("run", "source")]
#: The counted columns, in the order of the core's codes.
VALUES = ("gt", "status", "pred", "first")
STREAMING: Final = "streaming"
T = TypeVar("T")

#: Rows read at a time from a Parquet file or an in-memory table: what is held of the table at
#: once is bounded by this (a streaming read of a Parquet file decodes ahead of a slow reader).
#: A power of two: the row groups polars writes hold 2^18 rows, pyarrow's 2^20, so slices do
#: not cut them.
CHUNK = 1 << 18
#: First rows closer than this are read as one slice.
SPAN_GAP = 4096
#: At most this many slices; past it, or past `SPAN_SHARE` of the rows, one filtered pass.
SPAN_MAX = 32
SPAN_SHARE = 0.25


@dataclass
class Tallied:
    #: each run's first row (run, the run columns, synthetic), in order of first appearance
    runs: pl.DataFrame
    #: per counted column (`VALUES`), its distinct values; code 0 is None
    values: list[list[str | None]]
    #: the distinct value sets: one row of codes (into `values`) per set
    sets: np.ndarray
    #: one entry per distinct (run, value set): the run's row in `runs`, the set, the rows
    run: np.ndarray
    set: np.ndarray
    n: np.ndarray
    #: runs that hold some sample id twice, confirmed on the strings
    duplicated: list[str]


COUNTED = ("run", "sample_id", "gt", "status", "pred", "first")


def _counted(need_first: bool) -> list[pl.Expr]:
    """The columns the core counts, as strings (`first` only where the rule set reads it: the
    file's own where it has one (`scan.conform`), else decoded from `ranking`; the core reads a
    missing one as the prediction)."""
    return [pl.col(c).cast(pl.String) for c in COUNTED[: 6 if need_first else 5]]


def _run_columns(columns: frozenset[str]) -> list[pl.Expr]:
    """The run columns but `run`, and `synthetic`, prefixed so as not to meet counted ones."""
    syn = pl.col("synthetic") if "synthetic" in columns else pl.lit(None, pl.Boolean)
    return [
        *(pl.col(c).alias(f"{RUN_PREFIX}{c}") for c in META),
        syn.cast(pl.Boolean).alias(f"{RUN_PREFIX}synthetic"),
    ]


RUN_PREFIX = "__run_"


def rows_at(frame: pl.LazyFrame, rows: list[int], height: int) -> pl.DataFrame:
    """The rows `rows` (sorted row numbers) of a lazy frame of `height` rows. Read only where
    they are: a few slices when they lie together (the first rows of runs that interleave),
    else one pass that keeps them."""
    spans: list[list[int]] = []
    for r in rows:
        if spans and r - spans[-1][1] <= SPAN_GAP:
            spans[-1][1] = r + 1
        else:
            spans.append([r, r + 1])
    if len(spans) <= SPAN_MAX and sum(b - a for a, b in spans) <= SPAN_SHARE * height:
        parts = []
        for a, b in spans:
            part = frame.slice(a, b - a).collect()
            parts.append(part[[r - a for r in rows if a <= r < b]])
        return pl.concat(parts)
    idx = pl.Series(rows, dtype=pl.UInt64).implode()
    return (
        frame.with_row_index("__row")
        .filter(pl.col("__row").is_in(idx))
        .drop("__row")
        .collect(engine=STREAMING)
    )


def _sliceable(src: Lazy) -> bool:
    """Parquet files and in-memory tables: their length is known without reading them."""
    return src.path is None or bool(src.parts) or src.path.suffix.lower() == ".parquet"


def parts(column: pl.Series) -> list[pl.DataFrame]:
    """A column as the core takes it: one frame per chunk (exported whole, polars would first
    join the chunks into one)."""
    return [chunk.to_frame() for chunk in column.get_chunks()]


class _Firsts:
    """The run columns of each run's first row, gathered while the counted columns are read.
    Where first rows keep coming (runs one after another), the run columns are read with the
    counted ones and kept at the first rows; where they come together (runs that interleave),
    they are read afterwards at those rows only (`rows_at`)."""

    def __init__(self, frame: pl.LazyFrame, columns: frozenset[str]) -> None:
        self.frame = frame
        self.run_columns = _run_columns(columns)
        self.kept: list[pl.DataFrame] = []
        self.later: list[int] = []
        #: whether the next batch reads the run columns too
        self.read_along = True

    def add(self, batch: pl.DataFrame, at: int, rows: list[int]) -> None:
        """The first rows `rows` (within `batch`, whose first row is row `at`)."""
        if RUN_PREFIX + "synthetic" in batch.columns:
            got = batch.select(pl.col("run"), pl.col(f"^{RUN_PREFIX}.*$"))[rows]
            self.kept.append(got.with_columns(pl.Series("__row", [at + r for r in rows])))
        else:
            self.later += [at + r for r in rows]
        self.read_along = bool(rows) and rows[-1] >= SPAN_GAP

    def runs(self, height: int) -> pl.DataFrame:
        if self.later:
            cols = self.frame.select("run", *self.run_columns)
            got = rows_at(cols, self.later, height)
            self.kept.append(got.with_columns(pl.Series("__row", self.later)))
        if not self.kept:
            return pl.DataFrame()
        return pl.concat(self.kept).sort("__row").drop("__row")


def _read(src: Lazy, frame: pl.LazyFrame, core: _core.Tally, need_first: bool) -> pl.DataFrame:
    """Counts one table (a source, or one part of a folder) and gives the run columns of its
    runs' first rows, `run` included, unprefixed."""
    firsts = _Firsts(frame, src.columns)
    counted = _counted(need_first)
    at = 0
    if _sliceable(src):
        height = int(frame.select(pl.len()).collect().item())

        def read(at: int, along: bool) -> pl.DataFrame:
            extra = firsts.run_columns if along else []
            return frame.select(*counted, *extra).slice(at, CHUNK).collect()

        # The next slice is read while this one is counted (polars and the core both let go
        # of the interpreter): whether it reads the run columns follows the slice before.
        starts = range(0, height, CHUNK)
        with ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(read, 0, True)
            for i, at in enumerate(starts):
                batch = ahead.result()
                if i + 1 < len(starts):
                    ahead = pool.submit(read, starts[i + 1], firsts.read_along)
                firsts.add(batch, at, _count(core, batch, need_first))
    else:
        # a stream is read once: the run columns come along
        for batch in frame.select(*counted, *firsts.run_columns).collect_batches(engine=STREAMING):
            firsts.add(batch, at, _count(core, batch, need_first))
            at += batch.height
        height = at
    got = firsts.runs(height)
    return got.rename(lambda c: c.removeprefix(RUN_PREFIX)) if got.width else got


def _count(core: _core.Tally, batch: pl.DataFrame, need_first: bool) -> list[int]:
    """Counts a batch; the rows that are the first of their run."""
    columns: list[list[pl.DataFrame] | None] = [
        parts(batch.get_column(c)) for c in COUNTED[: 6 if need_first else 5]
    ]
    return core.add(columns if need_first else [*columns, None])


#: Whether Parquet files are read by the core (`_direct`) where they can be; off, polars reads
#: every source (tests compare the two).
DIRECT = True


@dataclass
class _Direct:
    """A Parquet file the core reads: its counted columns and the run columns it holds."""

    groups: ParquetGroups
    counted: list[str]
    run_columns: list[str]
    types: dict[str, pl.DataType]


def _plain(t: pl.DataType) -> bool:
    """A type whose values the core gives as Python objects."""
    return (
        t.is_integer()
        or t.is_float()
        or isinstance(t, (pl.String, pl.Boolean, pl.Null, pl.Categorical, pl.Enum))
    )


def _direct(path: Path, need_first: bool) -> _Direct | None:
    """The file opened for the core to read; None where polars reads it (a counted column that
    is not strings, a run column of another type). A footer the core does not read is an
    InputError naming the file: such a file is malformed, and polars' reader may abort the
    process on one (it asks for exabytes), so it is not handed on."""
    if not DIRECT or path.suffix.lower() != ".parquet":
        return None
    groups = ParquetGroups(path)
    try:
        types = dict(pl.read_parquet_schema(path))
    except READ_ERRORS:
        types = {}
    counted = list(COUNTED[: 6 if need_first else 5])
    run_columns = [c for c in ("run", *META, "synthetic") if c in types]
    if set(counted) <= groups.strings and all(_plain(types[c]) for c in run_columns):
        return _Direct(groups, counted, run_columns, types)
    groups.close()
    return None


def _one_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each taken on another thread while the one before is used."""
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(next, items, None)
        while (got := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield got


def _read_direct(d: _Direct, core: _core.Tally) -> pl.DataFrame:
    """`_read` by the core: the counted columns of each row group decoded a batch at a time
    (the next batch while this one is counted) and counted, then the run columns read at the
    batch's first rows (of runs), if it has any."""
    found: dict[str, list[object]] = {c: [] for c in d.run_columns}
    with d.groups as groups:

        def batches() -> Iterator[tuple[int, int, _core.Decoded]]:
            """(row group, its row the batch starts at, the batch)"""
            for i in range(len(groups.rows)):
                at = 0
                try:
                    for batch in groups.group(i, d.counted).batches(d.counted):
                        yield i, at, batch
                        at += batch.rows
                except CoreError as e:
                    raise InputError(f"cannot read row group {i}: {e}", groups.path) from None

        for i, at, batch in _one_ahead(batches()):
            local = core.add_decoded(batch)
            if local:
                rows = [at + r for r in local]
                values = groups.group(i, d.run_columns).rows(d.run_columns, rows)
                for c in d.run_columns:
                    found[c].extend(values[c])
    raw = pl.DataFrame([pl.Series(c, found[c], dtype=d.types[c]) for c in d.run_columns])
    lf = scan.conform(raw.lazy(), d.run_columns, keep_first=True)
    got = lf.select(pl.col("run"), *_run_columns(frozenset(d.run_columns))).collect()
    return got.rename(lambda c: c.removeprefix(RUN_PREFIX))


def tally(src: Lazy, need_first: bool, check_duplicates: bool = True) -> Tallied:
    """Tallies one source (a folder's parts one after the other, as one table): the counted
    columns in one pass, and the run columns of each run's first row. Raises InputError naming
    the source when it cannot be read or a row has no run or sample id."""
    files = list(src.files)
    direct = _direct(files[0], need_first) if files else None
    # A Parquet file the core reads is counted on one thread while the next batch is decoded
    # on others (`_read_direct`); polars' batches are split between threads.
    core = _core.Tally(check_duplicates, first_or_pred=need_first, shards=1 if direct else 0)
    found: list[pl.DataFrame] = []
    try:
        for i, frame in enumerate(src.parts or (src.frame,)):
            if i:
                direct = _direct(files[i], need_first) if i < len(files) else None
            got = _read_direct(direct, core) if direct else _read(src, frame, core, need_first)
            if got.width:
                found.append(got)
        got_all = core.finish()
    except CoreError as e:
        raise InputError(str(e), src.path) from None
    schema = {"run": pl.String, **{c: table.RUN_COLUMNS[c] for c in META}, "synthetic": pl.Boolean}
    runs = pl.concat(found) if found else pl.DataFrame(schema=schema)
    if runs.get_column("run").to_list() != got_all["runs"]:
        raise InputError("the table changed while it was read", src.path)
    maybe = [got_all["runs"][i] for i in got_all["maybe_duplicated"]]
    return Tallied(
        runs,
        got_all["values"],
        got_all["sets"].astype(np.int64),
        got_all["run"].astype(np.int64),
        got_all["set"].astype(np.int64),
        got_all["n"].astype(np.int64),
        _confirmed(src, maybe) if maybe else [],
    )


def combine(parts: list[Tallied]) -> Tallied:
    """The tallies of several sources as one: values and value sets numbered anew, runs in
    order of first appearance (a run found in more than one source keeps its first rows)."""
    if len(parts) == 1:
        return parts[0]
    values: list[list[str | None]] = []
    remap: list[list[np.ndarray]] = [[] for _ in parts]
    for j in range(len(VALUES)):
        union = sorted({v for p in parts for v in p.values[j] if v is not None})
        values.append([None, *union])
        code = {v: i for i, v in enumerate(values[j])}
        for k, p in enumerate(parts):
            remap[k].append(np.array([code[v] for v in p.values[j]], dtype=np.int64))
    all_sets = np.concatenate(
        [
            np.stack([m[p.sets[:, j]] for j, m in enumerate(remap[k])], axis=1)
            for k, p in enumerate(parts)
        ]
    )
    sets, inverse = np.unique(all_sets, axis=0, return_inverse=True)
    runs = pl.concat([p.runs for p in parts]).unique("run", keep="first", maintain_order=True)
    row = {r: i for i, r in enumerate(runs.get_column("run").to_list())}
    run_parts, set_parts, at = [], [], 0
    for p in parts:
        local = np.array([row[r] for r in p.runs.get_column("run").to_list()], dtype=np.int64)
        run_parts.append(local[p.run] if local.size else p.run)
        set_parts.append(inverse.reshape(-1)[at + p.set])
        at += len(p.sets)
    return Tallied(
        runs,
        values,
        sets,
        np.concatenate(run_parts),
        np.concatenate(set_parts),
        np.concatenate([p.n for p in parts]),
        sorted({r for p in parts for r in p.duplicated}),
    )


def _confirmed(src: Lazy, runs: list[str]) -> list[str]:
    """The runs among `runs` that hold some sample id twice: their rows' strings compared."""
    dup = (
        src.frame.filter(pl.col("run").is_in(runs))
        .group_by("run", "sample_id")
        .len()
        .filter(pl.col("len") > 1)
        .select(pl.col("run").unique())
        .collect(engine=STREAMING)
    )
    return sorted(dup.get_column("run").to_list())
