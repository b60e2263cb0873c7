"""`journal.jsonl`: the run's append-only log, one JSON object a line, fsynced after each line.

A line cut by a crash is dropped when the journal is opened again (and ignored when read), so
the next line never lands on half of an old one.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import safe_read, scrub


def _finite(v: Any) -> Any:
    """A copy of an event with every non-finite float (inf, nan) as null: JSON has none."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


class Journal:
    """Appends events; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_cut_line(path)
        self._fd = os.open(
            path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644
        )
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        event.setdefault("time", round(time.time(), 3))
        text = json.dumps(
            _finite(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        line = (scrub.scrub_text(text) + "\n").encode()
        with self._lock:
            view = memoryview(line)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop_cut_line(path: Path) -> None:
    if not os.path.lexists(path):
        return
    if safe_read.check_regular(path).st_size == 0:
        return
    with path.open("rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())


def read(path: Path) -> list[dict[str, Any]]:
    """Every complete event; a missing journal is empty. A malformed complete line is an error
    naming the file and line."""
    if not os.path.lexists(path):
        return []
    data = safe_read.read_bytes(path, safe_read.MAX_JOURNAL)
    lines = data.split(b"\n")
    complete = lines[:-1]  # the last piece is empty, or a line cut by a crash
    events = []
    for n, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            ev = safe_read.loads(raw, path)
        except InputError as e:
            raise InputError(f"not a JSON line: {e.message}", path, n) from None
        if not isinstance(ev, dict) or "event" not in ev:
            raise InputError("expected a JSON object with an 'event' key", path, n)
        events.append(ev)
    return events


def finished_batches(events: list[dict[str, Any]]) -> set[str]:
    return {str(e["batch"]) for e in events if e.get("event") == "batch_done"}


def paid_responses(events: list[dict[str, Any]]) -> dict[str, dict[tuple[Any, ...], Any]]:
    """batch -> {(samples, split, attempt): record} of every response the journal kept (each
    paid call is journaled before anything else is written): a resume serves these again."""
    out: dict[str, dict[tuple[Any, ...], Any]] = {}
    for e in events:
        if e.get("event") != "response" or not isinstance(e.get("record"), dict):
            continue
        samples = e.get("samples")
        if not isinstance(samples, list):
            continue
        key = (tuple(str(x) for x in samples), str(e.get("split", "")), e.get("attempt", 1))
        out.setdefault(str(e.get("batch")), {})[key] = e["record"]
    return out
