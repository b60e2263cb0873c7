"""The run folder of docs/run-format.md: atomic writes, `run.json`, `labels.csv`, the lock.

Every file but the journal is written atomically (a temporary file in the same folder, fsync,
rename, fsync of the folder), so a process killed at any moment leaves either the old file or
the new one. Readers name the file (and line) at fault.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import safe_read, scrub
from ger_replay.io.atomic import atomic_write_bytes as atomic_write_bytes
from ger_replay.io.atomic import atomic_write_text as atomic_write_text
from ger_replay.io.atomic import fsync_dir
from ger_replay.io.neutral import csv_cell, csv_uncell
from ger_replay.io.schema import RUN_SCHEMA_VERSION, check_readable, check_run_json

#: The run.json schema version written; reading goes through `io.schema`, which upgrades
#: older versions and names the version a file needs.
SCHEMA_VERSION = RUN_SCHEMA_VERSION
KIND = "ger-replay-run"
RUN_JSON = "run.json"
LABELS_CSV = "labels.csv"
JOURNAL = "journal.jsonl"
CASSETTES = "cassettes"
LOCK = ".lock"
TMP_SUFFIX = ".tmp"


_fsync_dir = fsync_dir


def remove_temp_files(run_dir: Path) -> int:
    """Deletes temporary files a killed writer left behind; returns how many."""
    n = 0
    for folder in (run_dir, run_dir / CASSETTES):
        if folder.is_dir():
            for p in folder.glob(f".*{TMP_SUFFIX}"):
                with contextlib.suppress(OSError):
                    p.unlink()
                    n += 1
    return n


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / RUN_JSON).is_file()


def batch_id(i: int) -> str:
    return f"b{i:05d}"


def cassette_path(run_dir: Path, batch: str) -> Path:
    return run_dir / CASSETTES / f"{batch}.json"


def batches(
    order: Sequence[str], batch_size: int, segments: Sequence[int] | None = None
) -> list[tuple[str, list[str]]]:
    """(batch id, sample ids) of a run: batch i holds order[i*size:(i+1)*size]. A run that grew
    (`record --limit`, then a larger run) has `segments`, the lengths of the consecutive parts
    of `order` added each time: each part is cut into batches on its own, numbered on."""
    if not segments:
        segments = [len(order)]
    if any(n < 0 for n in segments) or sum(segments) != len(order):
        raise InputError(f"segments {list(segments)} do not add up to the {len(order)} samples")
    out: list[tuple[str, list[str]]] = []
    start = 0
    for n in segments:
        part = order[start : start + n]
        for s in range(0, n, batch_size):
            out.append((batch_id(len(out)), list(part[s : s + batch_size])))
        start += n
    return out


def run_batches(meta: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The batches of a run from its run.json."""
    return batches(meta["sample_order"], int(meta["batch_size"]), meta.get("segments"))


def write_meta(run_dir: Path, meta: Mapping[str, Any]) -> None:
    text = json.dumps(dict(meta), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_text(run_dir / RUN_JSON, scrub.scrub_text(text))


def read_meta(run_dir: Path) -> dict[str, Any]:
    """run.json, checked: a clear error naming the file for anything a reader cannot use."""
    path = run_dir / RUN_JSON
    if not os.path.lexists(path):
        raise InputError("not a run folder (no run.json)", run_dir)
    meta = safe_read.load_json_file(path, safe_read.MAX_RUN_JSON)
    meta = check_run_json(meta, path)
    check_readable(meta, path)
    return meta


def write_labels(run_dir: Path, rows: Sequence[tuple[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sample_id", "gt"])
    w.writerows([csv_cell(a), csv_cell(b)] for a, b in rows)
    atomic_write_text(run_dir / LABELS_CSV, buf.getvalue())


def read_labels(run_dir: Path) -> list[tuple[str, str]]:
    path = run_dir / LABELS_CSV
    if not os.path.lexists(path):
        raise InputError("missing labels.csv", run_dir)
    text = safe_read.read_text(path, safe_read.MAX_CSV)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != ["sample_id", "gt"]:
        raise InputError(f"expected the header sample_id,gt, found {header}", path, 1)
    rows, seen = [], set()
    for row in reader:
        line = reader.line_num
        if len(row) != 2:
            raise InputError(f"expected 2 fields, found {len(row)}", path, line)
        sid, gt = csv_uncell(row[0]) or "", csv_uncell(row[1]) or ""
        if sid in seen:
            raise InputError(f"sample {sid!r} listed twice", path, line)
        seen.add(sid)
        rows.append((sid, gt))
    return rows


class LockedError(GerReplayError):
    """Another process holds the run folder."""


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Holds the run folder's lock for the life of the block: an OS lock (flock) on the folder
    itself, released by the kernel when the process dies (even by SIGKILL), so deleting or
    replacing any file cannot let a second recorder in. `.lock` only names the holder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    dfd = os.open(run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(dfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = "unknown"
            with contextlib.suppress(OSError, GerReplayError):
                raw = safe_read.read_bytes(run_dir / LOCK, 64)
                holder = raw.decode(errors="replace").strip() or holder
            raise LockedError(
                f"another process (pid {holder}) is recording into this run folder; "
                "wait for it to finish or stop it first",
                run_dir,
            ) from None
        st, here = os.fstat(dfd), os.stat(run_dir)
        if (st.st_dev, st.st_ino) != (here.st_dev, here.st_ino):
            raise LockedError("the run folder was replaced while being locked", run_dir)
        with contextlib.suppress(OSError):
            atomic_write_text(run_dir / LOCK, f"{os.getpid()}\n")
        yield
    finally:
        os.close(dfd)
