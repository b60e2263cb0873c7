"""`journal.jsonl`: the run's append-only log, one JSON object a line, fsynced after each line.

A line cut by a crash is dropped when the journal is opened again (and ignored when read), so
the next line never lands on half of an old one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError


class Journal:
    """Appends events; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_cut_line(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        event.setdefault("time", round(time.time(), 3))
        line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)
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
    if not path.exists() or path.stat().st_size == 0:
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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise InputError(f"cannot read: {e}", path) from None
    lines = data.split(b"\n")
    complete = lines[:-1]  # the last piece is empty, or a line cut by a crash
    events = []
    for n, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            ev = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise InputError(f"not a JSON line: {e}", path, n) from None
        if not isinstance(ev, dict) or "event" not in ev:
            raise InputError("expected a JSON object with an 'event' key", path, n)
        events.append(ev)
    return events


def finished_batches(events: list[dict[str, Any]]) -> set[str]:
    return {str(e["batch"]) for e in events if e.get("event") == "batch_done"}
