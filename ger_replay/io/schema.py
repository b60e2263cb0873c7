"""Versions and shapes of the files a run folder and a bundle hold (docs/run-format.md).

`check_run_json` reads a `run.json` of any schema version this tool knows, upgrading older
versions step by step through `MIGRATIONS`, and otherwise fails naming the version the file needs.
`check_manifest` validates a bundle manifest. Cassettes are read by `ger_replay.io.cassettes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import safe_read

#: The run.json schema version this tool writes.
RUN_SCHEMA_VERSION = 1
#: The oldest run.json schema version this tool still reads.
OLDEST_RUN_SCHEMA = 1
RUN_KIND = "ger-replay-run"

#: `MIGRATIONS[v]` turns a version-v run.json into a version v+1 one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

BUNDLE_FORMAT = "ger-replay-bundle"
MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"

_STR = (str,)
_INT = (int,)


@dataclass(frozen=True)
class Field:
    """One run.json field: the JSON types it may take, whether it may be null, and whether
    every reader of a run folder relies on it (then it must be there, not null)."""

    types: tuple[type, ...]
    nullable: bool = True
    read: bool = False


#: The fields of a version-1 run.json: the one definition of its schema.
RUN_FIELDS: dict[str, Field] = {
    "schema_version": Field(_INT, nullable=False, read=True),
    "kind": Field(_STR, nullable=False),
    "name": Field(_STR, nullable=False),
    "dataset": Field(_STR, nullable=False, read=True),
    "task": Field(_STR),
    "labels": Field((list,), read=True),
    "model": Field(_STR, nullable=False, read=True),
    "endpoint": Field(_STR),
    "template": Field(_STR, read=True),
    "template_text": Field(_STR),
    "frames": Field(_INT, read=True),
    "frame_plan": Field(_STR),
    "color": Field(_STR, read=True),
    "modality": Field(_STR, read=True),
    "repeat": Field(_INT, read=True),
    "batch_size": Field(_INT, read=True),
    "max_tries": Field(_INT, read=True),
    "temperature": Field((int, float)),
    "max_tokens": Field(_INT),
    "token_field": Field(_STR),
    "response_format": Field(_STR),
    "params": Field((dict,)),
    "endpoints": Field((list,)),
    "subset": Field((dict,)),
    "segments": Field((list,)),
    "price": Field((dict,)),
    "seed": Field(_INT),
    "sample_order": Field((list,), read=True),
    "tool_version": Field(_STR),
    "created": Field(_STR),
    "synthetic": Field((bool,)),
    "note": Field(_STR),
}
#: Fields a run.json must hold to be checked at all (a bundle's runs, `verify`).
RUN_REQUIRED = ("schema_version", "dataset", "model")


def _fail(msg: str, name: str | Path) -> InputError:
    return InputError(msg, name)


def parse_json(data: bytes, name: str | Path) -> Any:
    """JSON from bytes, with every failure (bad UTF-8, syntax, absurd nesting) an `InputError`."""
    return safe_read.loads(data, name)


def check_run_json(data: Any, name: str | Path) -> dict[str, Any]:
    """A run.json's metadata upgraded to the current schema version, or an `InputError` naming
    the file and the schema version it needs."""
    if not isinstance(data, dict):
        raise _fail(f"run.json must be a JSON object, found {type(data).__name__}", name)
    if "schema_version" not in data:
        raise _fail(
            f"no schema_version: not a ger-replay run.json, or written before run folders were "
            f"versioned; this ger-replay reads schema version {_supported()}",
            name,
        )
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _fail(f"schema_version must be a whole number, found {version!r}", name)
    if version > RUN_SCHEMA_VERSION:
        raise _fail(
            f"schema version {version} is newer than this ger-replay reads "
            f"({_supported()}): it needs a ger-replay that reads schema version {version}",
            name,
        )
    if version < OLDEST_RUN_SCHEMA:
        raise _fail(
            f"schema version {version} is no longer read: this ger-replay reads schema version "
            f"{_supported()}; convert it with a ger-replay that reads schema version {version}",
            name,
        )
    out = dict(data)
    while out["schema_version"] < RUN_SCHEMA_VERSION:
        v = out["schema_version"]
        step = MIGRATIONS.get(v)
        if step is None:
            raise _fail(f"no upgrade from schema version {v} to {v + 1}", name)
        out = step(out)
        out["schema_version"] = v + 1
    _check_fields(out, name)
    return out


def _supported() -> str:
    if OLDEST_RUN_SCHEMA == RUN_SCHEMA_VERSION:
        return str(RUN_SCHEMA_VERSION)
    return f"{OLDEST_RUN_SCHEMA} to {RUN_SCHEMA_VERSION}"


def _check_fields(meta: Mapping[str, Any], name: str | Path) -> None:
    missing = [k for k in RUN_REQUIRED if k not in meta]
    if missing:
        raise _fail(f"run.json lacks {', '.join(missing)}", name)
    if "kind" in meta and meta["kind"] != RUN_KIND:
        raise _fail(f"kind is {meta['kind']!r}, expected {RUN_KIND!r}", name)
    for key, spec in RUN_FIELDS.items():
        if key not in meta:
            continue
        v, types = meta[key], spec.types
        if v is None and spec.nullable:
            continue
        # JSON true is no number: bool is an int subclass in Python
        ok = isinstance(v, types) and not (isinstance(v, bool) and bool not in types)
        if not ok:
            want = " or ".join(t.__name__ for t in types)
            raise _fail(f"run.json field {key!r} must be {want}, found {v!r}"[:300], name)
    for key in ("labels", "sample_order"):
        v = meta.get(key)
        if isinstance(v, list) and not all(isinstance(x, str) for x in v):
            raise _fail(f"run.json field {key!r} must be a list of strings", name)
    _check_values(meta, name)


#: Bounds on what a run.json may hold.
MAX_LABELS = 1000
MAX_SAMPLES = 10_000_000
MAX_TEXT = 1000
_WS = re.compile(r"\s+")


def _fold(label: str) -> str:
    """A label's key as the answer parser compares candidates (case and white space folded)."""
    return _WS.sub(" ", label.strip()).lower()


def _check_values(meta: Mapping[str, Any], name: str | Path) -> None:
    """Values a reader relies on: labels and samples non-empty, distinct and bounded in number;
    counts positive and bounded."""
    labels = meta.get("labels")
    if labels is not None:
        if not labels:
            raise _fail("run.json field 'labels' is empty", name)
        if len(labels) > MAX_LABELS:
            raise _fail(f"run.json lists {len(labels)} labels (at most {MAX_LABELS})", name)
        seen: dict[str, str] = {}
        for x in labels:
            key = _fold(x)
            if not key or len(x) > MAX_TEXT:
                raise _fail(f"run.json label {x[:40]!r} is empty or too long", name)
            if key in seen:
                raise _fail(
                    f"run.json labels {seen[key][:40]!r} and {x[:40]!r} are the same label", name
                )
            seen[key] = x
    order = meta.get("sample_order")
    if order is not None:
        if len(order) > MAX_SAMPLES:
            raise _fail(f"run.json lists {len(order)} samples (at most {MAX_SAMPLES})", name)
        if any(not x or len(x) > MAX_TEXT for x in order):
            raise _fail("run.json field 'sample_order' holds an empty or too long id", name)
        if len(set(order)) != len(order):
            raise _fail("run.json field 'sample_order' lists a sample twice", name)
    for key, low in (("frames", 1), ("batch_size", 1), ("max_tries", 1), ("repeat", 0)):
        v = meta.get(key)
        if isinstance(v, int) and not low <= v <= 1_000_000:
            raise _fail(f"run.json field {key!r} is {v} (expected {low} to 1000000)", name)
    for key in ("name", "dataset", "model"):
        v = meta.get(key)
        if isinstance(v, str) and (not v.strip() or len(v) > MAX_TEXT):
            raise _fail(f"run.json field {key!r} is empty or longer than {MAX_TEXT}", name)


def load_run_json(path: Path, name: str | Path | None = None) -> dict[str, Any]:
    data = safe_read.read_bytes(path, safe_read.MAX_RUN_JSON, name or path)
    return check_run_json(parse_json(data, name or path), name or path)


def check_readable(meta: Mapping[str, Any], name: str | Path) -> None:
    """The fields every reader of a run folder relies on are there, not null, of their type."""
    problems = []
    for key, spec in RUN_FIELDS.items():
        if not spec.read:
            continue
        typ = spec.types[0] if len(spec.types) == 1 else spec.types
        if key not in meta:
            problems.append(f"missing {key!r}")
        elif not isinstance(meta[key], typ) or (isinstance(meta[key], bool) and typ is int):
            problems.append(f"{key!r} has the wrong type ({type(meta[key]).__name__})")
    if problems:
        raise InputError("; ".join(problems), name)
    if meta["batch_size"] < 1 or meta["max_tries"] < 1:
        raise InputError("batch_size and max_tries must be at least 1", name)
    seg = meta.get("segments")
    if seg is not None and (
        not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in seg)
        or sum(seg) != len(meta["sample_order"])
    ):
        raise InputError("'segments' must be counts adding up to len(sample_order)", name)


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def check_manifest(data: Any, name: str | Path) -> dict[str, Any]:
    """A bundle manifest, checked for shape and version."""
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise _fail(f"not a ger-replay bundle manifest (format != {BUNDLE_FORMAT!r})", name)
    version = data.get("manifest_version")
    if version != MANIFEST_VERSION:
        raise _fail(
            f"manifest version {version!r}: this ger-replay reads version {MANIFEST_VERSION}",
            name,
        )
    rsv = data.get("run_schema_version")
    if not isinstance(rsv, int) or not OLDEST_RUN_SCHEMA <= rsv <= RUN_SCHEMA_VERSION:
        raise _fail(
            f"the bundle's runs use schema version {rsv!r}; this ger-replay reads {_supported()}",
            name,
        )
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        raise _fail("manifest lists no files", name)
    for path, entry in files.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not _HEX64.match(entry["sha256"])
            or not isinstance(entry.get("size"), int)
        ):
            raise _fail(f"manifest entry for {path!r} lacks a sha256 and size", name)
    runs = data.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
        raise _fail("manifest lacks its list of runs", name)
    return data
