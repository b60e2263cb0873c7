"""Versions and shapes of the files a run folder and a bundle hold (docs/run-format.md).

`check_run_json` reads a `run.json` of any schema version this tool knows, upgrading older
versions step by step through `MIGRATIONS`, and otherwise fails naming the version the file needs.
`load_cassette` parses a JSON cassette without ever running code: YAML (whose python tags could
run commands) is refused before any parser sees it. `check_manifest` validates a bundle manifest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError

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
#: Fields of a version-1 run.json and the JSON types each may take (None: may be null).
RUN_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "kind": (_STR, False),
    "name": (_STR, False),
    "dataset": (_STR, False),
    "task": (_STR, True),
    "labels": ((list,), True),
    "model": (_STR, False),
    "endpoint": (_STR, True),
    "template": (_STR, True),
    "template_text": (_STR, True),
    "frames": (_INT, True),
    "frame_plan": (_STR, True),
    "color": (_STR, True),
    "modality": (_STR, True),
    "repeat": (_INT, True),
    "batch_size": (_INT, True),
    "max_tries": (_INT, True),
    "temperature": ((int, float), True),
    "max_tokens": (_INT, True),
    "token_field": (_STR, True),
    "response_format": (_STR, True),
    "params": ((dict,), True),
    "endpoints": ((list,), True),
    "subset": ((dict,), True),
    "segments": ((list,), True),
    "price": ((dict,), True),
    "seed": (_INT, True),
    "sample_order": ((list,), True),
    "tool_version": (_STR, True),
    "created": (_STR, True),
    "synthetic": ((bool,), True),
    "note": (_STR, True),
}
RUN_REQUIRED = ("schema_version", "dataset", "model")


def _fail(msg: str, name: str | Path) -> InputError:
    return InputError(msg, name)


def parse_json(data: bytes, name: str | Path) -> Any:
    """JSON from bytes, with every failure (bad UTF-8, syntax, absurd nesting) an `InputError`."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise _fail(f"not UTF-8 text (byte {e.start})", name) from None
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg} (column {e.colno})", name, e.lineno) from None
    except RecursionError:
        raise _fail("not valid JSON: nested too deeply", name) from None


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
    for key, (types, nullable) in RUN_FIELDS.items():
        if key not in meta:
            continue
        v = meta[key]
        if v is None and nullable:
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


def load_run_json(path: Path, name: str | Path | None = None) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", name or path) from None
    return check_run_json(parse_json(data, name or path), name or path)


_YAML_TAG = re.compile(rb"!!?python/|tag:yaml\.org,2002:python/")


def load_cassette(data: bytes, name: str | Path) -> dict[str, Any]:
    """A JSON vcrpy cassette, checked for shape. YAML is refused before any parser sees it, so
    opening a cassette can never run code."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"{"):
        if _YAML_TAG.search(data):
            raise _fail(
                "a YAML python tag (it would run code when loaded): refused; "
                "only JSON cassettes are read",
                name,
            )
        raise _fail(
            "not a JSON cassette (YAML and other formats are refused; record with "
            "vcrpy serializer='json')",
            name,
        )
    cassette = parse_json(data, name)
    check_cassette(cassette, name)
    return cassette


def check_cassette(data: Any, name: str | Path) -> None:
    if not isinstance(data, dict):
        raise _fail("a cassette must be a JSON object", name)
    if data.get("version") != 1:
        raise _fail(f"cassette version {data.get('version')!r}: expected 1 (vcrpy)", name)
    inter = data.get("interactions")
    if not isinstance(inter, list):
        raise _fail("cassette has no interactions list", name)
    for i, it in enumerate(inter):
        where = f"interaction {i}"
        if not isinstance(it, dict):
            raise _fail(f"{where} is not an object", name)
        req, resp = it.get("request"), it.get("response")
        if not isinstance(req, dict) or not isinstance(resp, dict):
            raise _fail(f"{where} lacks a request or response object", name)
        if not isinstance(req.get("method"), str) or not isinstance(req.get("uri"), str):
            raise _fail(f"{where}: request without method or uri", name)
        status = resp.get("status")
        code = status.get("code") if isinstance(status, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            raise _fail(f"{where}: response without a status code", name)
        body = resp.get("body")
        if not isinstance(body, dict) or not isinstance(body.get("string", 0), str | None):
            raise _fail(f"{where}: response without a body string", name)
    meta = data.get("metadata")
    if meta is not None:
        calls = meta.get("ger_replay", {}).get("calls") if isinstance(meta, dict) else None
        if not isinstance(calls, list) or len(calls) != len(inter):
            raise _fail(
                f"cassette metadata describes "
                f"{len(calls) if isinstance(calls, list) else 'no'} call(s) "
                f"for {len(inter)} interaction(s)",
                name,
            )
        for j, call in enumerate(calls):
            samples = call.get("samples") if isinstance(call, dict) else None
            if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
                raise _fail(f"call {j}: metadata without a list of sample ids", name)


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
