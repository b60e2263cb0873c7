"""Turning paths into the predictions table: the one place that decides how a path is read.

The readers are tried in the order of `READERS`, and the first that recognises a path reads it:
a bundle, a run folder, a predictions file (Parquet, CSV or JSONL, as `import` and `export`
write), a folder of released predictions. A folder that no reader claims is searched down to
`MAX_SEARCH_DEPTH` levels (no link followed), so `score cassettes/` finds every run inside. Any
failure of a hostile input becomes that input's error; runs of one name read from different
inputs are told apart by their paths. What was read comes back as one `LoadResult`: the rows,
the errors of whatever could not be read, each run's provenance and, for recorded run folders,
their calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ger_replay.errors import GerReplayError, InputError, repeated_runs
from ger_replay.io import predictions_file, provenance, runs, table
from ger_replay.io.names import told_apart
from ger_replay.io.predictions_file import PREDICTION_SUFFIXES, READ_ERRORS
from ger_replay.io.runs import RecordedCalls
from ger_replay.io.safe_read import check_regular


@dataclass
class LoadResult:
    """What a load read: the predictions table, the errors of what it could not read, the
    provenance of each run read from a run folder or a bundle (run -> provenance columns), and
    the recorded calls of each run folder."""

    table: pl.DataFrame
    errors: list[GerReplayError] = field(default_factory=list)
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[RecordedCalls] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        """Adds another result's errors, provenance and calls (not its rows)."""
        self.errors.extend(other.errors)
        self.provenance.update(other.provenance)
        self.calls.extend(other.calls)


@dataclass(frozen=True)
class LoadOptions:
    #: sample_id -> gt for runs shared without labels.csv (`pack --no-labels`)
    labels: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Reader:
    name: str
    detect: Callable[[Path], bool]
    read: Callable[[Path, LoadOptions], LoadResult]


def read_predictions_file(path: Path) -> pl.DataFrame:
    """A predictions table written by `import` or `export`."""
    lf, _ = predictions_file.open_lazy(path)
    try:
        df = lf.collect()
    except READ_ERRORS as e:
        raise InputError(f"cannot read the predictions table: {e}", path) from None
    required = {"run", "dataset", "sample_id", "gt", "status"}
    missing = sorted(required - set(df.columns))
    if missing:
        raise InputError(
            f"not a predictions table: missing column(s) {', '.join(missing)} "
            f"(found {', '.join(df.columns) or 'none'})",
            path,
        )
    bad = set(df.get_column("status").unique().to_list()) - set(table.STATUSES)
    if bad:
        raise InputError(f"unknown status value(s) {sorted(map(str, bad))}", path)
    if "pred" not in df.columns:
        raise InputError("not a predictions table: missing column pred", path)
    return table.conform(df)


def _read_run(path: Path, opts: LoadOptions) -> LoadResult:
    got = runs.read_run(path, opts.labels)
    run = str(got.meta.get("name") or path.name)
    return LoadResult(
        provenance.with_provenance(got.table, {"synthetic": bool(got.meta.get("synthetic"))}),
        got.errors,
        {run: provenance.of_run(got.meta)},
        [got.calls] if got.calls is not None else [],
    )


def _read_predictions_file(path: Path, opts: LoadOptions) -> LoadResult:
    return LoadResult(read_predictions_file(path))


def _is_predictions_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PREDICTION_SUFFIXES


def _read_released(path: Path, opts: LoadOptions) -> LoadResult:
    from ger_replay.io import released

    df, errors = released.import_results(path)
    return LoadResult(df, list(errors))


def _read_bundle(path: Path, opts: LoadOptions) -> LoadResult:
    """The predictions table of every run in a bundle, each row carrying its provenance. A
    bundle that fails verification gives its problems and no rows."""
    from ger_replay.io import bundle, verify

    with bundle.open_bundle(path) as b:
        problems = verify.check_open(b)
        if problems:
            return LoadResult(table.empty(), list(problems))
        manifest = bundle.read_manifest(b)
        frames: list[pl.DataFrame] = []
        out = LoadResult(table.empty())
        for run_dir in b.run_dirs():
            got = _load([run_dir], opts)
            out.errors.extend(bundle.renamed(e, b) for e in got.errors)
            if got.table.height == 0:
                continue
            meta = bundle.run_meta(b, run_dir)
            prov = provenance.of_run(meta, bundle=path.name, bundle_sha256=b.sha256)
            prov["bundle_tool_version"] = manifest.get("tool_version")
            frames.append(provenance.with_provenance(got.table, prov))
            out.provenance.update(dict.fromkeys(table.runs(got.table), prov))
    if frames:
        out.table = pl.concat(frames, how="diagonal_relaxed")
    return out


def _is_bundle(path: Path) -> bool:
    from ger_replay.io import bundle  # imported when needed: scoring a file reads no bundle

    return bundle.is_bundle(path)


def _is_released(path: Path) -> bool:
    from ger_replay.io import released

    return released.is_released_layout(path)


#: The readers, in the order they are tried.
READERS: tuple[Reader, ...] = (
    Reader("bundle", _is_bundle, _read_bundle),
    Reader("run-folder", runs.is_run, _read_run),
    Reader("predictions-file", _is_predictions_file, _read_predictions_file),
    Reader("released-predictions", _is_released, _read_released),
)


#: How deep below a given folder runs are searched for.
MAX_SEARCH_DEPTH = 6
#: What a hostile input may raise from deep inside a reader; each becomes that input's error.
READ_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    MemoryError,
    UnicodeError,
    pl.exceptions.PolarsError,
)


def _reader_of(path: Path) -> Reader | None:
    for r in READERS:
        try:
            if r.detect(path):
                return r
        except READ_FAILURES:
            continue
    return None


def claims(path: Path) -> bool:
    """Whether some reader reads this path as it is."""
    return _reader_of(path) is not None


def guarded(path: Path, reader: Reader, opts: LoadOptions) -> LoadResult:
    """`reader.read(path)`, with any failure of a hostile input an `InputError` naming it."""
    try:
        return reader.read(path, opts)
    except GerReplayError:
        raise
    except READ_FAILURES as e:
        what = "nested too deeply" if isinstance(e, RecursionError) else f"{e}"[:300]
        raise InputError(f"cannot read ({type(e).__name__}): {what}", path) from None


def find_inputs(path: Path, depth: int = MAX_SEARCH_DEPTH) -> list[Path]:
    """The inputs some reader claims under a folder, searched `depth` levels down (no link
    followed), in name order."""
    out: list[Path] = []
    stack = [(path, 0)]
    while stack:
        folder, d = stack.pop()
        try:
            children = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        except OSError:
            continue
        for child in children:
            if child.is_symlink():
                continue
            if claims(child):
                out.append(child)
            elif d + 1 < depth and child.is_dir():
                stack.append((child, d + 1))
    return sorted(out)


def _load_one(path: Path, opts: LoadOptions) -> list[tuple[Path, LoadResult]]:
    """(input read, what it gave) for a path a reader claims, or for every such input under a
    folder; the errors of inputs that could not be read at all come back with no rows."""
    reader = _reader_of(path)
    if reader is not None:
        return [(path, guarded(path, reader, opts))]
    if path.is_dir():
        found = find_inputs(path)
        if not found:
            raise InputError(
                "holds no runs (no predictions file, run folder or released predictions "
                f"within {MAX_SEARCH_DEPTH} folder levels)",
                path,
            )
        out: list[tuple[Path, LoadResult]] = []
        for child in found:
            try:
                out.append((child, guarded(child, _reader_of(child), opts)))  # type: ignore[arg-type]
            except GerReplayError as e:
                out.append((child, LoadResult(table.empty(), [e])))
        return out
    raise InputError(
        "not a predictions file, run folder, bundle or released-predictions folder", path
    )


class GroundTruth(dict[str, str]):
    """sample_id -> gt, remembering the file and line each came from (`where`), so a label the
    dataset does not know is reported at its line."""

    def __init__(self) -> None:
        super().__init__()
        self.where: dict[str, tuple[str, int]] = {}


def read_ground_truth(paths: Sequence[str | Path]) -> GroundTruth:
    """sample_id -> gt from CSV files with (at least) the columns sample_id and gt: a run's
    labels.csv or a manifest. A sample given twice with two labels is an error; every error
    names the file and line."""
    import csv

    out = GroundTruth()
    for path in map(Path, paths):
        try:
            check_regular(path)
            with path.open(newline="", encoding="utf-8") as f:
                _read_truth_rows(csv.reader(f, strict=True), path, out)
        except FileNotFoundError:
            raise InputError("no such file", path) from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read the ground truth: {e}", path) from None
    return out


def _read_truth_rows(reader: Any, path: Path, out: GroundTruth) -> None:
    import csv

    try:
        header = next(reader, None) or []
        if not {"sample_id", "gt"} <= set(header):
            raise InputError(
                f"expected the columns sample_id and gt, found {', '.join(header) or 'none'}",
                path,
                1,
            )
        i_sid, i_gt = header.index("sample_id"), header.index("gt")
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            sid = row[i_sid].strip() if i_sid < len(row) else ""
            gt = row[i_gt].strip() if i_gt < len(row) else ""
            if not sid or not gt:
                raise InputError("empty sample_id or gt", path, line)
            if out.setdefault(sid, gt) != gt:
                raise InputError(
                    f"sample {sid!r} given two labels: {out[sid]!r}, {gt!r}", path, line
                )
            out.where.setdefault(sid, (str(path), line))
    except csv.Error as e:
        raise InputError(f"not a readable CSV: {e}", path, reader.line_num) from None


def load(paths: Sequence[str | Path], labels: Mapping[str, str] | None = None) -> LoadResult:
    """Every run under the given paths, with the errors of whatever could not be read.
    `labels` (sample_id -> gt) supplies the ground truth of runs shared without labels.csv,
    also for the runs inside a bundle."""
    return _load(paths, LoadOptions(labels))


def _load(paths: Sequence[str | Path], opts: LoadOptions) -> LoadResult:
    found: list[tuple[Path, LoadResult]] = []
    out = LoadResult(table.empty())
    for p in map(Path, paths):
        if not os.path.lexists(p):
            out.errors.append(InputError("no such file or folder", p))
            continue
        try:
            found.extend(_load_one(p, opts))
        except GerReplayError as e:
            out.errors.append(e)
    kept, notes = told_apart(found)
    frames: list[pl.DataFrame] = []
    for got in kept:
        frames.append(got.table)
        out.extend(got)
    out.errors.extend(notes)
    if not frames:
        return out
    df = table.conform(pl.concat([table.conform(f) for f in frames], how="diagonal_relaxed"))
    df, clash = drop_repeated_runs(df)
    if clash is not None:
        out.errors.append(clash)
    out.table = df
    return out


def drop_repeated_runs(df: pl.DataFrame) -> tuple[pl.DataFrame, InputError | None]:
    """Drops runs that were given more than once (or hold a sample twice), with the error
    naming them: scoring them would count samples twice."""
    dup = df.group_by("run").agg(pl.col("sample_id").n_unique().alias("u"), pl.len().alias("n"))
    clash = sorted(dup.filter(pl.col("u") != pl.col("n")).get_column("run").to_list())
    if not clash:
        return df, None
    return df.filter(~pl.col("run").is_in(clash)), repeated_runs(clash)
