"""Reading recorded cassettes: plain JSON, no vcrpy, so `score` stays light. The one reader of
cassette files: scoring (`read_raw`), the checks of `pack` and `verify` (`load_cassette`), and
recording and replay (`read_text`, which vcrpy then deserialises) all go through it.

A cassette holds the interactions of one batch and, under `metadata.ger_replay.calls`, one
entry per interaction naming its samples (docs/run-format.md). Every shape is checked, and a
cassette that does not have it is refused with an error naming the file. Opening a cassette can
never run code: YAML (whose python tags could run commands) is refused before any parser sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import safe_read
from ger_replay.io.schema import parse_json


def read_text(path: Path) -> str:
    """A cassette file's text, for vcrpy to deserialise; an unreadable file (a link, too large,
    nested too deeply, not UTF-8) is an `InputError`."""
    text = safe_read.read_text(path)
    safe_read.loads(text, path)  # bounded depth before vcrpy parses it
    return text


def read_raw(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The fast reader for scoring: (call metadata, response dicts) straight from the JSON."""
    data = safe_read.load_json_file(path)
    try:
        inter = data["interactions"]
        if not isinstance(inter, list):
            raise TypeError("interactions is not a list")
        responses = [i["response"] for i in inter]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"not a readable cassette: {e}", path) from None
    for j, r in enumerate(responses):
        _check_response(r, j, path)
    return calls_of(data.get("metadata") or {}, len(responses), path), responses


def _check_response(r: Any, j: int, path: Path) -> None:
    """A recorded response has the shape `answer_text` reads, or the cassette is refused."""
    try:
        code = r["status"]["code"]
        body = r["body"]["string"]
    except (KeyError, TypeError):
        raise InputError(
            f"interaction {j}: response without status.code and body.string", path
        ) from None
    if isinstance(code, bool) or not isinstance(code, int) or not isinstance(body, str):
        raise InputError(
            f"interaction {j}: status.code must be a number and body.string a string", path
        )


def calls_of(metadata: Any, n: int, path: Path) -> list[dict[str, Any]]:
    try:
        calls = metadata["ger_replay"]["calls"]
    except (KeyError, TypeError):
        raise InputError("cassette has no ger_replay call metadata", path) from None
    if not isinstance(calls, list) or len(calls) != n:
        raise InputError(
            f"cassette metadata describes {len(calls) if isinstance(calls, list) else '?'} "
            f"call(s) for {n} interaction(s)",
            path,
        )
    for j, c in enumerate(calls):
        if (
            not isinstance(c, dict)
            or not isinstance(c.get("samples"), list)
            or not all(isinstance(x, str) for x in c["samples"])
        ):
            raise InputError(f"call {j}: metadata without a list of sample ids", path)
    return calls


def answer_text(response: Mapping[str, Any]) -> str | None:
    """The chat completion's answer text in a recorded 200 response, else None."""
    if int(response["status"]["code"]) != 200:
        return None
    s = response["body"]["string"]
    try:
        message = json.loads(s)["choices"][0]["message"]
        content = message["content"]
        if content is None:  # structured outputs: a refusal comes in its own field
            content = message.get("refusal")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        return None  # a hostile answer (absurdly nested, say) is an unparseable one
    return content if isinstance(content, str) else None


_YAML_TAG = re.compile(rb"!!?python/|tag:yaml\.org,2002:python/")


def load_cassette(data: bytes, name: str | Path) -> dict[str, Any]:
    """A JSON vcrpy cassette, checked for shape. YAML is refused before any parser sees it, so
    opening a cassette can never run code."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"{"):
        if _YAML_TAG.search(data):
            raise InputError(
                "a YAML python tag (it would run code when loaded): refused; "
                "only JSON cassettes are read",
                name,
            )
        raise InputError(
            "not a JSON cassette (YAML and other formats are refused; record with "
            "vcrpy serializer='json')",
            name,
        )
    cassette = parse_json(data, name)
    check_cassette(cassette, name)
    return cassette


def check_cassette(data: Any, name: str | Path) -> None:
    if not isinstance(data, dict):
        raise InputError("a cassette must be a JSON object", name)
    if data.get("version") != 1:
        raise InputError(f"cassette version {data.get('version')!r}: expected 1 (vcrpy)", name)
    inter = data.get("interactions")
    if not isinstance(inter, list):
        raise InputError("cassette has no interactions list", name)
    for i, it in enumerate(inter):
        where = f"interaction {i}"
        if not isinstance(it, dict):
            raise InputError(f"{where} is not an object", name)
        req, resp = it.get("request"), it.get("response")
        if not isinstance(req, dict) or not isinstance(resp, dict):
            raise InputError(f"{where} lacks a request or response object", name)
        if not isinstance(req.get("method"), str) or not isinstance(req.get("uri"), str):
            raise InputError(f"{where}: request without method or uri", name)
        status = resp.get("status")
        code = status.get("code") if isinstance(status, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            raise InputError(f"{where}: response without a status code", name)
        body = resp.get("body")
        if not isinstance(body, dict) or not isinstance(body.get("string", 0), str | None):
            raise InputError(f"{where}: response without a body string", name)
    meta = data.get("metadata")
    if meta is not None:
        gr = meta.get("ger_replay") if isinstance(meta, dict) else None
        calls = gr.get("calls") if isinstance(gr, dict) else None
        if not isinstance(calls, list) or len(calls) != len(inter):
            raise InputError(
                f"cassette metadata describes "
                f"{len(calls) if isinstance(calls, list) else 'no'} call(s) "
                f"for {len(inter)} interaction(s)",
                name,
            )
        for j, call in enumerate(calls):
            samples = call.get("samples") if isinstance(call, dict) else None
            if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
                raise InputError(f"call {j}: metadata without a list of sample ids", name)
