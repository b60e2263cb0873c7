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
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ger_replay.errors import GerReplayError, InputError
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


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a plain `open()` would give a new file (0644 under the usual umask 022): the
    temporary files renamed into place are created 0600 and get this mode before the rename."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode `mkdir` would give a new folder (0755 under the usual umask 022)."""
    return 0o777 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes `data` to `path` so that a crash leaves the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.fchmod(fd, file_mode())
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


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


def batches(order: Sequence[str], batch_size: int) -> list[tuple[str, list[str]]]:
    """(batch id, sample ids) of a run: batch i holds order[i*size:(i+1)*size]."""
    return [
        (batch_id(i), list(order[s : s + batch_size]))
        for i, s in enumerate(range(0, len(order), batch_size))
    ]


def write_meta(run_dir: Path, meta: Mapping[str, Any]) -> None:
    atomic_write_text(
        run_dir / RUN_JSON, json.dumps(dict(meta), indent=2, ensure_ascii=False) + "\n"
    )


def read_meta(run_dir: Path) -> dict[str, Any]:
    """run.json, checked: a clear error naming the file for anything a reader cannot use."""
    path = run_dir / RUN_JSON
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("not a run folder (no run.json)", run_dir) from None
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg}", path, e.lineno) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {e}", path) from None
    meta = check_run_json(meta, path)
    check_readable(meta, path)
    return meta


def write_labels(run_dir: Path, rows: Sequence[tuple[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sample_id", "gt"])
    w.writerows(rows)
    atomic_write_text(run_dir / LABELS_CSV, buf.getvalue())


def read_labels(run_dir: Path) -> list[tuple[str, str]]:
    path = run_dir / LABELS_CSV
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("missing labels.csv", run_dir) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {e}", path) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != ["sample_id", "gt"]:
        raise InputError(f"expected the header sample_id,gt, found {header}", path, 1)
    rows, seen = [], set()
    for row in reader:
        line = reader.line_num
        if len(row) != 2:
            raise InputError(f"expected 2 fields, found {len(row)}", path, line)
        if row[0] in seen:
            raise InputError(f"sample {row[0]!r} listed twice", path, line)
        seen.add(row[0])
        rows.append((row[0], row[1]))
    return rows


class LockedError(GerReplayError):
    """Another process holds the run folder."""


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Holds the run folder's lock (flock: released by the kernel when the process dies, even
    by SIGKILL); a second process gets a clear error naming the holder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise LockedError(
                f"another process (pid {holder}) is recording into this run folder; "
                "wait for it to finish or stop it first",
                run_dir,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
