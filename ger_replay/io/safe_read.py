"""Reading files from strangers: regular files only (no symbolic link, FIFO or device), with a
size cap, and JSON with a nesting cap checked before any parser recurses.

Every failure is an `InputError` naming the file, so a caller reports it and goes on with its
other inputs.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError

#: Size caps by kind of file (bytes).
MAX_JSON = 256 << 20
MAX_RUN_JSON = 64 << 20
MAX_CSV = 1 << 30
MAX_JOURNAL = 1 << 30
#: Deepest JSON nesting any file of the project needs (a cassette needs about eight).
MAX_DEPTH = 64

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def check_regular(path: Path, name: str | Path | None = None) -> os.stat_result:
    """The file's lstat when it is a regular file; an `InputError` for a link or anything else."""
    shown = name if name is not None else path
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise InputError("no such file", shown) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", shown) from None
    if stat.S_ISLNK(st.st_mode):
        raise InputError("a symbolic link: refused (only regular files are read)", shown)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file: refused", shown)
    return st


def read_bytes(path: Path, max_size: int = MAX_JSON, name: str | Path | None = None) -> bytes:
    """A regular file's bytes, opened without following a link and never blocking on a FIFO."""
    shown = name if name is not None else path
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except FileNotFoundError:
        raise InputError("no such file", shown) from None
    except OSError as e:
        if os.path.islink(path):
            raise InputError(
                "a symbolic link: refused (only regular files are read)", shown
            ) from None
        raise InputError(f"cannot read: {e.strerror}", shown) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file: refused", shown)
        if st.st_size > max_size:
            raise InputError(f"{st.st_size} bytes: larger than the limit of {max_size}", shown)
        chunks = []
        total = 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            total += len(b)
            if total > max_size:
                raise InputError(f"larger than the limit of {max_size} bytes", shown)
            chunks.append(b)
        return b"".join(chunks)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", shown) from None
    finally:
        os.close(fd)


def read_text(path: Path, max_size: int = MAX_JSON, name: str | Path | None = None) -> str:
    data = read_bytes(path, max_size, name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", name or path) from None


def deeper_than(obj: Any, limit: int) -> int | None:
    """The nesting depth of a parsed JSON value when it exceeds `limit`, else None. Iterative,
    and stops at the first container past the limit."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        if d > limit:
            return d
        stack.extend((x, d + 1) for x in v if isinstance(x, dict | list))
    return None


def loads(data: bytes | str, name: str | Path, max_depth: int = MAX_DEPTH) -> Any:
    """JSON from bytes or text; every failure (bad UTF-8, syntax, nesting deeper than
    `max_depth`, which the C parser turns into RecursionError long before the stack is at risk)
    an `InputError` naming the file. Nothing deeper than `max_depth` ever reaches a caller, so
    no recursive code downstream can overflow."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", name) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg} (column {e.colno})", name, e.lineno) from None
    except RecursionError:
        raise InputError(f"not valid JSON: nested too deeply (limit {max_depth})", name) from None
    except ValueError as e:
        raise InputError(f"not valid JSON: {e}", name) from None
    depth = deeper_than(obj, max_depth)
    if depth is not None:
        raise InputError(f"not valid JSON: nested too deeply (more than {max_depth} levels)", name)
    return obj


def load_json_file(path: Path, max_size: int = MAX_JSON, name: str | Path | None = None) -> Any:
    """A regular JSON file, bounded in size and depth."""
    return loads(read_bytes(path, max_size, name), name if name is not None else path)
