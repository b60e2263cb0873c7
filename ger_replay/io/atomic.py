"""Atomic writes: a temporary file in the target's folder, fsync, rename, fsync of the folder.

A crash or a full disk at any moment leaves either the old file or the new one, never half of
one, and no temporary file behind. Every writer of an output file goes through here. The file
gets the mode the user's umask gives a new file (0644 under umask 022), not mkstemp's 0600.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ger_replay.errors import InputError

TMP_SUFFIX = ".tmp"


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


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a temporary path next to `path` for a writer that wants a file name (polars,
    matplotlib); on success it is fsynced and renamed onto `path`, on any failure removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.fchmod(fd, file_mode())
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes `data` to `path` so that a crash leaves the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            view = memoryview(data)
            while view:
                n = os.write(f.fileno(), view)
                view = view[n:]
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_error(e: OSError, path: Path) -> InputError:
    """A failed write as one clear line naming the file (the old file, if any, is intact)."""
    why = e.strerror or str(e)
    return InputError(f"cannot write: {why} (nothing was changed)", path)
