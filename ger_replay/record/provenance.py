"""Which endpoint and model made each call: kept in the journal line of every call, checked when a
run is resumed, and listed in run.json (`endpoints`) when a resume was allowed to change them.

A run resumed against another endpoint or model is refused (naming both) unless
`--allow-endpoint-change`; run.json's `endpoint` and `model` then name the latest pair and
`endpoints` every pair in the order they were first used, with the time each began.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ger_replay.errors import InputError
from ger_replay.record import cassettes

CHAT_SUFFIX = "/chat/completions"


def clean(url: str | None) -> str:
    return cassettes.clean_url(url or "").rstrip("/")


def of_interaction(it: cassettes.Interaction) -> tuple[str, str | None]:
    """(endpoint, model) of a recorded call, from its URL and body."""
    uri = str(it.request.uri)
    endpoint = uri[: -len(CHAT_SUFFIX)] if uri.endswith(CHAT_SUFFIX) else uri
    model = None
    try:
        body = json.loads(it.request.body or b"")
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            model = body["model"]
    except (ValueError, TypeError, RecursionError):
        pass
    return clean(endpoint), model


def used(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every (endpoint, model) pair of a run, oldest first."""
    given = meta.get("endpoints")
    if isinstance(given, list) and given:
        return [dict(e) for e in given if isinstance(e, dict)]
    return [{"endpoint": meta.get("endpoint"), "model": meta.get("model")}]


def check_resume(
    meta: dict[str, Any], base_url: str, model: str, allow: bool, where: Any
) -> dict[str, Any] | None:
    """None when the run continues against its own endpoint and model; otherwise the updated
    run.json to write (when `allow`), or an InputError naming both pairs."""
    had_url, had_model = clean(meta.get("endpoint")), meta.get("model")
    now_url = clean(base_url)
    if had_url == now_url and had_model == model:
        return None
    if not allow:
        raise InputError(
            f"cannot resume: this run was recorded against {had_url} with model {had_model!r}; "
            f"this command asks {now_url} with model {model!r}. Record into a new folder, or "
            "pass --allow-endpoint-change to continue this run there (run.json then lists every "
            "endpoint and model used)",
            where,
        )
    pairs = used(meta)
    if not any(clean(p.get("endpoint")) == now_url and p.get("model") == model for p in pairs):
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pairs.append({"endpoint": now_url, "model": model, "since": when})
    return {**meta, "endpoint": now_url, "model": model, "endpoints": pairs}


def mixed(meta: Mapping[str, Any]) -> bool:
    return len(used(meta)) > 1
