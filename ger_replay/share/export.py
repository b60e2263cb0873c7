"""`ger-replay export`: the predictions table with its provenance, as Parquet, CSV or JSONL.

Each row carries, beside the table's own columns, where it came from: the run's metadata from
its run.json (endpoint, batch size, tries, seed, created, the tool version that recorded it), the
bundle it was read from and that bundle's sha256, and the tool version that exported it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io.scrub import clean_url
from ger_replay.score import sources, table
from ger_replay.score.writer import write_table
from ger_replay.share import schema

#: Provenance columns and their types (null where a source has no such fact).
PROVENANCE: dict[str, pl.DataType] = {
    "run_name": pl.String(),
    "task": pl.String(),
    "endpoint": pl.String(),
    "frame_plan": pl.String(),
    "batch_size": pl.Int32(),
    "max_tries": pl.Int32(),
    "temperature": pl.Float64(),
    "max_tokens": pl.Int32(),
    "seed": pl.Int64(),
    "created": pl.String(),
    "synthetic": pl.Boolean(),
    "run_schema_version": pl.Int32(),
    "recorded_with": pl.String(),
    "bundle": pl.String(),
    "bundle_sha256": pl.String(),
    "bundle_tool_version": pl.String(),
    "exported_with": pl.String(),
}

_FROM_RUN = {
    "run_name": "name",
    "task": "task",
    "endpoint": "endpoint",
    "frame_plan": "frame_plan",
    "batch_size": "batch_size",
    "max_tries": "max_tries",
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "seed": "seed",
    "created": "created",
    "synthetic": "synthetic",
    "run_schema_version": "schema_version",
    "recorded_with": "tool_version",
}


def provenance(
    meta: Mapping[str, Any], bundle: str | None = None, bundle_sha256: str | None = None
) -> dict[str, Any]:
    """The provenance of one run, from its (checked) run.json metadata."""
    out: dict[str, Any] = {col: meta.get(key) for col, key in _FROM_RUN.items()}
    if isinstance(out["endpoint"], str):  # a run recorded elsewhere may keep credentials in it
        out["endpoint"] = clean_url(out["endpoint"])
    out["bundle"] = bundle
    out["bundle_sha256"] = bundle_sha256
    return out


def with_provenance(df: pl.DataFrame, prov: Mapping[str, Any]) -> pl.DataFrame:
    """`df` with the given provenance columns set (constant over its rows)."""
    return df.with_columns(
        [pl.lit(v, dtype=PROVENANCE[k]).alias(k) for k, v in prov.items() if k in PROVENANCE]
    )


@dataclass
class Exported:
    table: pl.DataFrame
    errors: list[GerReplayError] = field(default_factory=list)


def _is_run_dir(p: Path) -> bool:
    return p.is_dir() and (p / "run.json").is_file()


def _load_path(p: Path) -> tuple[list[tuple[Path, pl.DataFrame]], list[GerReplayError]]:
    if _is_run_dir(p):
        got = sources.load([p])
        if got.table.height == 0:
            return [], got.errors
        try:
            meta = schema.load_run_json(p / "run.json")
        except InputError as e:
            return [], [*got.errors, e]
        return [(p, with_provenance(got.table, provenance(meta)))], got.errors
    if p.is_dir() and not sources.claims(p):
        frames: list[tuple[Path, pl.DataFrame]] = []
        errors: list[GerReplayError] = []
        found = sources._find(p, sources.MAX_SEARCH_DEPTH)
        if not found:
            return [], [InputError("holds no runs", p)]
        for child in found:
            got_frames, got_errors = _load_path(child)
            frames.extend(got_frames)
            errors.extend(got_errors)
        return frames, errors
    got = sources.load([p])
    return ([(p, got.table)] if got.table.height else []), got.errors


def collect(paths: Sequence[Path]) -> Exported:
    """Every run under `paths` with its provenance."""
    from ger_replay import __version__

    found: list[tuple[Path, pl.DataFrame]] = []
    errors: list[GerReplayError] = []
    for p in map(Path, paths):
        if not p.exists():
            errors.append(InputError("no such file or folder", p))
            continue
        got_frames, got_errors = _load_path(p)
        found.extend(got_frames)
        errors.extend(got_errors)
    frames, notes = sources.told_apart(found)
    errors.extend(notes)
    if not frames:
        return Exported(_with_all_columns(table.empty()), errors)
    df = pl.concat([table.conform(f) for f in frames], how="diagonal_relaxed")
    df, clash = sources.drop_repeated_runs(df)
    if clash is not None:
        errors.append(clash)
    df = df.with_columns(pl.lit(f"ger-replay {__version__}").alias("exported_with"))
    return Exported(_with_all_columns(df), errors)


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
