"""Reading recorded cassettes for scoring: plain JSON, no vcrpy, so `score` stays light.

A cassette holds the interactions of one batch and, under `metadata.ger_replay.calls`, one
entry per interaction naming its samples (docs/run-format.md). Every shape is checked, and a
cassette that does not have it is refused with an error naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import safe_read


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
        data = json.loads(s)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None  # a hostile answer (absurdly nested, say) is an unparseable one
    return content if isinstance(content, str) else None
