"""A Parquet file read a row group at a time by the Rust core, from bytes read here.

The file is opened once, without following a link; its footer (at most 64 MiB, which
`_core.ParquetFile` checks) gives the row groups, and each row group is read as the byte
ranges of the columns asked for, no more. The core decodes them (`_core.RowGroup`): the
tally counts a row group without a value becoming a Python object, and the values of a few
rows come back as Python objects.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import ger_replay._core as _core
from ger_replay.errors import CoreError, InputError

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
#: The trailer: the footer's length and the magic bytes.
_TRAILER = 8


def _pread(fd: int, start: int, length: int) -> bytes:
    """Exactly `length` bytes from `start` (a file that shrank is an error)."""
    parts = []
    while length > 0:
        b = os.pread(fd, min(length, 1 << 30), start)
        if not b:
            raise OSError("the file ended early: it changed while it was read")
        parts.append(b)
        start += len(b)
        length -= len(b)
    return b"".join(parts)


class ParquetGroups:
    """An open Parquet file's row groups. Raises InputError naming the file when it cannot be
    opened or its footer is not one the core reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, _FLAGS)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", path) from None
        try:
            st = os.fstat(self._fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError("not a regular file: refused", path)
            if st.st_size < 2 * _TRAILER:
                raise InputError("too short for a Parquet file", path)
            trailer = _pread(self._fd, st.st_size - _TRAILER, _TRAILER)
            n = _core.ParquetFile.metadata_len(trailer)
            if n + _TRAILER > st.st_size:
                raise InputError("the Parquet footer is longer than the file", path)
            meta = _pread(self._fd, st.st_size - _TRAILER - n, n)
            self.file = _core.ParquetFile(meta, st.st_size)
        except (OSError, CoreError) as e:
            self.close()
            raise InputError(f"cannot read the Parquet footer: {e}", path) from None
        except BaseException:
            self.close()
            raise
        #: the rows of each row group
        self.rows: list[int] = self.file.row_groups
        #: the top-level columns that hold strings
        self.strings = frozenset(self.file.strings)

    def group(self, index: int, columns: Sequence[str]) -> _core.RowGroup:
        """Row group `index`, with the bytes of the columns `columns`."""
        try:
            ranges = self.file.ranges(index, list(columns))
            chunks = [(at, _pread(self._fd, at, n)) for at, n in ranges]
        except (OSError, CoreError) as e:
            raise InputError(f"cannot read row group {index}: {e}", self.path) from None
        return self.file.row_group(index, chunks)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ParquetGroups:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
