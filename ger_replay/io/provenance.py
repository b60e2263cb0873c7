"""Where a row came from: the columns `export` writes beside the predictions table's own (the
run's metadata from its run.json, the bundle it was read from and that bundle's sha256, the tool
version that recorded it and the one that exported it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

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
    "token_field": pl.String(),
    "response_format": pl.String(),
    #: the request parameters as given (`--param`), as JSON
    "params": pl.String(),
    #: the full test set's size when the run is a subset (`record --limit`), else null
    "subset_of": pl.Int64(),
    #: every endpoint and model of a run resumed elsewhere, as JSON; null for one endpoint
    "endpoints": pl.String(),
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
    "token_field": "token_field",
    "response_format": "response_format",
    "seed": "seed",
    "created": "created",
    "synthetic": "synthetic",
    "run_schema_version": "schema_version",
    "recorded_with": "tool_version",
}


def of_run(
    meta: Mapping[str, Any], bundle: str | None = None, bundle_sha256: str | None = None
) -> dict[str, Any]:
    """The provenance of one run, from its (checked) run.json metadata."""
    out: dict[str, Any] = {col: meta.get(key) for col, key in _FROM_RUN.items()}
    if isinstance(out.get("endpoint"), str):  # a run recorded elsewhere may keep credentials
        from ger_replay.io.scrub import clean_url

        out["endpoint"] = clean_url(out["endpoint"])
    params = meta.get("params")
    out["params"] = json.dumps(params, sort_keys=True) if isinstance(params, dict) else None
    subset = meta.get("subset")
    out["subset_of"] = subset.get("of") if isinstance(subset, dict) else None
    out["endpoints"] = _endpoints(meta.get("endpoints"))
    out["bundle"] = bundle
    out["bundle_sha256"] = bundle_sha256
    return out


def _endpoints(used: Any) -> str | None:
    """Every endpoint and model of a run resumed elsewhere, as JSON (URLs cleaned again: a
    run.json from elsewhere may keep credentials); None for a run of one endpoint."""
    if not isinstance(used, list) or len(used) < 2:
        return None
    from ger_replay.io.scrub import clean_url

    pairs = [
        {"endpoint": clean_url(str(e.get("endpoint") or "")), "model": e.get("model")}
        for e in used
        if isinstance(e, dict)
    ]
    return json.dumps(pairs)


def with_provenance(df: pl.DataFrame, prov: Mapping[str, Any]) -> pl.DataFrame:
    """`df` with the given provenance columns set (constant over its rows)."""
    return df.with_columns(
        [pl.lit(v, dtype=PROVENANCE[k]).alias(k) for k, v in prov.items() if k in PROVENANCE]
    )
