"""Turning paths into the predictions table.

A path is handed to the first source that recognises it. Sources: a predictions file (Parquet or
CSV, as `import` and `export` write), a folder of released predictions, and further kinds
(cassette runs, bundles) that register themselves with `register`. A folder that no source
claims is searched down to `MAX_SEARCH_DEPTH` levels, so `score cassettes/` finds every run
inside. Runs of one name from different inputs are told apart by their paths.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io.neutral import csv_unframe
from ger_replay.io.safe_read import check_regular
from ger_replay.score import table

#: A loader returns the rows it could read and the errors of what it could not.
Loaded = tuple[pl.DataFrame, list[GerReplayError]]


@dataclass(frozen=True)
class Source:
    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path], Loaded]


_SOURCES: list[Source] = []


def register(source: Source, first: bool = False) -> None:
    if any(s.name == source.name for s in _SOURCES):
        return
    if first:
        _SOURCES.insert(0, source)
    else:
        _SOURCES.append(source)


PREDICTION_SUFFIXES = (".parquet", ".csv", ".jsonl")


def read_predictions_file(path: Path) -> pl.DataFrame:
    """A predictions table written by `import` or `export`."""
    suffix = path.suffix.lower()
    try:
        if check_regular(path).st_size == 0:
            raise InputError("the file is empty", path)
        if suffix == ".parquet":
            df = pl.read_parquet(path)
        elif suffix == ".jsonl":
            df = pl.read_ndjson(path, infer_schema_length=None)
        elif suffix == ".csv":
            df = csv_unframe(pl.read_csv(path, infer_schema=False))
            if "ranking" in df.columns:
                df = df.with_columns(
                    pl.col("ranking").map_elements(_decode_list, return_dtype=pl.List(pl.String))
                )
            if "invented" in df.columns:
                df = df.with_columns(
                    pl.col("invented").map_elements(_decode_list, return_dtype=pl.List(pl.String))
                )
        else:
            raise InputError("expected a .parquet, .csv or .jsonl predictions file", path)
    except InputError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError, RecursionError) as e:
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


def _decode_list(cell: str | None) -> list[str] | None:
    if cell is None or cell == "":
        return None
    try:
        v = json.loads(cell)
    except json.JSONDecodeError:
        return [p.strip() for p in cell.split(",") if p.strip()]
    if not isinstance(v, list):
        raise ValueError(f"expected a JSON list, found {cell!r}")
    return [str(x) for x in v]


def _load_predictions_file(path: Path) -> Loaded:
    return read_predictions_file(path), []


def _is_predictions_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PREDICTION_SUFFIXES


def _load_released(path: Path) -> Loaded:
    from ger_replay.share.released import import_results

    df, errors = import_results(path)
    return df, list(errors)


def _is_released(path: Path) -> bool:
    from ger_replay.share.released import is_released_layout

    return is_released_layout(path)


register(Source("predictions-file", _is_predictions_file, _load_predictions_file))
register(Source("released-predictions", _is_released, _load_released))


def claims(path: Path) -> bool:
    """Whether some source reads this path as it is."""
    _ensure_plugins()
    return any(s.detect(path) for s in _SOURCES)


@dataclass
class LoadResult:
    table: pl.DataFrame
    errors: list[GerReplayError] = field(default_factory=list)


#: How deep below a given folder runs are searched for.
MAX_SEARCH_DEPTH = 6
#: What a hostile input may raise from deep inside a reader; each becomes that input's error.
_READ_FAILURES = (
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


def _claimed_by(path: Path) -> Source | None:
    for s in _SOURCES:
        try:
            if s.detect(path):
                return s
        except _READ_FAILURES:
            continue
    return None


def guarded(path: Path, fn: Callable[[Path], Loaded]) -> Loaded:
    """`fn(path)`, with any failure of a hostile input an `InputError` naming the path."""
    try:
        return fn(path)
    except GerReplayError:
        raise
    except _READ_FAILURES as e:
        what = "nested too deeply" if isinstance(e, RecursionError) else f"{e}"[:300]
        raise InputError(f"cannot read ({type(e).__name__}): {what}", path) from None


def _find(path: Path, depth: int) -> list[Path]:
    """The inputs some source claims under a folder, searched `depth` levels down (no link
    followed), in name order."""
    out: list[Path] = []
    stack = [(path, 0)]
    while stack:
        folder, d = stack.pop()
        try:
            children = sorted(
                (p for p in folder.iterdir() if not p.name.startswith(".")), reverse=True
            )
        except OSError:
            continue
        for child in children:
            if child.is_symlink():
                continue
            if _claimed_by(child) is not None:
                out.append(child)
            elif d + 1 < depth and child.is_dir():
                stack.append((child, d + 1))
    return sorted(out)


def _load_one(path: Path) -> tuple[list[tuple[Path, pl.DataFrame]], list[GerReplayError]]:
    src = _claimed_by(path)
    if src is not None:
        df, errs = guarded(path, src.load)
        return [(path, df)], errs
    if path.is_dir():
        frames: list[tuple[Path, pl.DataFrame]] = []
        errors: list[GerReplayError] = []
        found = _find(path, MAX_SEARCH_DEPTH)
        if not found:
            raise InputError(
                "holds no runs (no predictions file, run folder or released predictions "
                f"within {MAX_SEARCH_DEPTH} folder levels)",
                path,
            )
        for child in found:
            try:
                df, errs = guarded(child, _claimed_by(child).load)  # type: ignore[union-attr]
            except GerReplayError as e:
                errors.append(e)
                continue
            frames.append((child, df))
            errors.extend(errs)
        return frames, errors
    raise InputError(
        "not a predictions file, run folder, bundle or released-predictions folder", path
    )


_GIVEN_LABELS: ContextVar[dict[str, str] | None] = ContextVar("given_labels", default=None)


def given_labels() -> dict[str, str] | None:
    """Ground truth given with `load(..., labels=...)`, for runs shared without labels.csv."""
    return _GIVEN_LABELS.get()


def read_ground_truth(paths: Sequence[str | Path]) -> dict[str, str]:
    """sample_id -> gt from CSV files with (at least) the columns sample_id and gt: a run's
    labels.csv or a manifest. A sample given twice with two labels is an error."""
    out: dict[str, str] = {}
    for path in map(Path, paths):
        try:
            check_regular(path)
            df = pl.read_csv(path, infer_schema=False)
        except FileNotFoundError:
            raise InputError("no such file", path) from None
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read the ground truth: {e}", path) from None
        if not {"sample_id", "gt"} <= set(df.columns):
            raise InputError(
                f"expected the columns sample_id and gt, found {', '.join(df.columns)}", path
            )
        for i, (sid, gt) in enumerate(df.select("sample_id", "gt").iter_rows(), start=2):
            if sid is None or gt is None:
                raise InputError("empty sample_id or gt", path, i)
            if out.setdefault(sid, gt) != gt:
                raise InputError(f"sample {sid!r} given two labels: {out[sid]!r}, {gt!r}", path, i)
    return out


def load(paths: Sequence[str | Path], labels: dict[str, str] | None = None) -> LoadResult:
    """Every run under the given paths, with the errors of whatever could not be read.
    `labels` (sample_id -> gt) supplies the ground truth of runs shared without labels.csv;
    nested loads (the runs inside a bundle) keep the ground truth of the outer one."""
    if labels is None:
        return _load(paths)
    token = _GIVEN_LABELS.set(labels)
    try:
        return _load(paths)
    finally:
        _GIVEN_LABELS.reset(token)


def _load(paths: Sequence[str | Path]) -> LoadResult:
    _ensure_plugins()
    found: list[tuple[Path, pl.DataFrame]] = []
    errors: list[GerReplayError] = []
    for p in map(Path, paths):
        if not os.path.lexists(p):
            errors.append(InputError("no such file or folder", p))
            continue
        try:
            got = _load_one(p)
        except GerReplayError as e:
            errors.append(e)
            continue
        found.extend(got[0])
        errors.extend(got[1])
    frames, notes = told_apart(found)
    errors.extend(notes)
    if not frames:
        return LoadResult(table.empty(), errors)
    df = table.conform(pl.concat([table.conform(f) for f in frames], how="diagonal_relaxed"))
    df, clash = drop_repeated_runs(df)
    if clash is not None:
        errors.append(clash)
    return LoadResult(df, errors)


def told_apart(
    found: Sequence[tuple[Path, pl.DataFrame]],
) -> tuple[list[pl.DataFrame], list[GerReplayError]]:
    """The tables of each input, with runs of one name from different inputs told apart by the
    shortest part of their paths that differs (`a/sfew2/x`, `b/sfew2/x`); an input given twice
    is kept once, with a message. Nothing is dropped silently."""
    owners: dict[str, list[int]] = {}
    for i, (_p, df) in enumerate(found):
        if df.height and "run" in df.columns:
            for r in df.get_column("run").unique().to_list():
                owners.setdefault(str(r), []).append(i)
    notes: list[GerReplayError] = []
    keep = [True] * len(found)
    rename: dict[int, dict[str, str]] = {}
    for run, idx in owners.items():
        if len(idx) < 2:
            continue
        real: dict[Path, int] = {}
        for i in idx:
            key = found[i][0].resolve()
            if key in real:
                keep[i] = False
                notes.append(
                    InputError(f"given more than once: run {run!r} counted once", found[i][0])
                )
            else:
                real[key] = i
        if len(real) < 2:
            continue
        prefixes = _distinct_prefixes([found[i][0] for i in real.values()])
        for i, prefix in zip(real.values(), prefixes, strict=True):
            rename.setdefault(i, {})[run] = f"{prefix}/{run}"
        notes.append(
            InputError(
                f"{len(real)} inputs hold a run named {run!r} (one run given more than once, "
                "or two runs of one name): told apart as "
                + ", ".join(f"{p}/{run}" for p in prefixes)
            )
        )
    frames = []
    for i, (_p, df) in enumerate(found):
        if not keep[i]:
            continue
        if i in rename:
            df = df.with_columns(pl.col("run").replace(rename[i]))
        frames.append(df)
    return frames, notes


def _distinct_prefixes(paths: Sequence[Path]) -> list[str]:
    """For each path, the shortest run of its trailing parts that no other path shares."""
    parts = [p.resolve().parts for p in paths]
    for n in range(1, max(len(x) for x in parts) + 1):
        tails = ["/".join(x[-n:]) for x in parts]
        if len(set(tails)) == len(tails):
            return tails
    return [str(p) for p in paths]


def drop_repeated_runs(df: pl.DataFrame) -> tuple[pl.DataFrame, InputError | None]:
    """Drops runs that were given more than once (or hold a sample twice), with the error
    naming them: scoring them would count samples twice."""
    dup = df.group_by("run").agg(pl.col("sample_id").n_unique().alias("u"), pl.len().alias("n"))
    clash = sorted(dup.filter(pl.col("u") != pl.col("n")).get_column("run").to_list())
    if not clash:
        return df, None
    return df.filter(~pl.col("run").is_in(clash)), InputError(
        f"run(s) given more than once, or with duplicate samples: {', '.join(clash)}"
    )


def _ensure_plugins() -> None:
    """Imports the modules that register further sources (cassette runs, bundles)."""
    import importlib

    for mod in ("ger_replay.record.runs", "ger_replay.share.bundle"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
