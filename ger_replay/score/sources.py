"""Turning paths into the predictions table.

A path is handed to the first source that recognises it. Sources: a predictions file (Parquet or
CSV, as `import` and `export` write), a folder of released predictions, and further kinds
(cassette runs, bundles) that register themselves with `register`. A folder that no source
claims is searched one level down, so `score cassettes/` finds every run inside.
"""

from __future__ import annotations

import json
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


def _load_one(path: Path) -> Loaded:
    for s in _SOURCES:
        if s.detect(path):
            return s.load(path)
    if path.is_dir():
        frames, errors = [], []
        children = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        claimed = False
        for child in children:
            if any(s.detect(child) for s in _SOURCES):
                claimed = True
                try:
                    df, errs = _load_one(child)
                except GerReplayError as e:
                    errors.append(e)
                    continue
                frames.append(df)
                errors.extend(errs)
        if not claimed:
            raise InputError(
                "holds no runs (no predictions file, run folder or released predictions)", path
            )
        return (pl.concat(frames, how="diagonal_relaxed") if frames else table.empty()), errors
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
    frames: list[pl.DataFrame] = []
    errors: list[GerReplayError] = []
    for p in map(Path, paths):
        if not p.exists():
            errors.append(InputError("no such file or folder", p))
            continue
        try:
            df, errs = _load_one(p)
        except GerReplayError as e:
            errors.append(e)
            continue
        frames.append(df)
        errors.extend(errs)
    if not frames:
        return LoadResult(table.empty(), errors)
    df = table.conform(pl.concat([table.conform(f) for f in frames], how="diagonal_relaxed"))
    df, clash = drop_repeated_runs(df)
    if clash is not None:
        errors.append(clash)
    return LoadResult(df, errors)


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
