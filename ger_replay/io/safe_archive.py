"""Reading tar archives from strangers without trusting them.

`extract` streams a (gzip-compressed) tar into a target folder and never writes outside it:
absolute paths, `..`, links, devices, FIFOs and duplicate members are refused. Everything is
bounded: the total and per-member expanded size, the member count, the size of extended headers
(long names, pax records, which tarfile would otherwise read whole into memory) and the expansion
ratio, so a gzip bomb stops after a few megabytes of output rather than filling the disk or memory.
Truncated and corrupted archives raise `InputError` naming the file. Every member's sha256 is
computed while it streams, so a caller can compare with a manifest without reading it twice.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from ger_replay.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds on what one archive may expand to."""

    max_total: int = 2 << 30
    max_member: int = 512 << 20
    max_members: int = 100_000
    #: Extended headers (GNU long names, pax records) are read into memory whole.
    max_header: int = 64 << 10
    #: Folders a member's path may hold (a bundle needs four: runs/<run>/cassettes/<file>).
    max_depth: int = 16
    #: Expanded bytes per compressed byte, enforced once `ratio_after` bytes have expanded
    #: (tiny archives compress their zero padding far better than this).
    max_ratio: float = 200.0
    ratio_after: int = 8 << 20


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Member:
    """One regular file taken from the archive."""

    name: str
    size: int
    sha256: str


class ArchiveError(InputError):
    """The archive is unsafe, malformed or over a limit."""


class _Counting:
    """A raw file that counts the compressed bytes read from it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        b = self.raw.read(n)
        self.count += len(b)
        return b

    def readable(self) -> bool:
        return True


class _Bounded:
    """The expanded stream, stopped as soon as it passes the total size or expansion ratio."""

    def __init__(self, inner: IO[bytes], compressed: _Counting | None, limits: Limits, path: Path):
        self.inner = inner
        self.compressed = compressed
        self.limits = limits
        self.path = path
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _CHUNK
        b = self.inner.read(min(n, self.limits.max_total - self.count + 1))
        self.count += len(b)
        if self.count > self.limits.max_total:
            raise ArchiveError(
                f"expands beyond {_mb(self.limits.max_total)}: refused (an archive bomb?)",
                self.path,
            )
        c = self.compressed
        if c is not None and self.count > self.limits.ratio_after and c.count > 0:
            ratio = self.count / c.count
            if ratio > self.limits.max_ratio:
                raise ArchiveError(
                    f"expands {ratio:.0f}x (more than {self.limits.max_ratio:.0f}x) after "
                    f"{_mb(self.count)}: refused as an archive bomb",
                    self.path,
                )
        return b

    def readable(self) -> bool:
        return True


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB"


# tarfile's header errors (present since Python 3.2, absent from the type stubs)
_EOF_HEADER: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
_EMPTY_HEADER: type[Exception] = tarfile.EmptyHeaderError  # type: ignore[attr-defined]
_TRUNCATED_HEADER: type[Exception] = tarfile.TruncatedHeaderError  # type: ignore[attr-defined]
_INVALID_HEADER: type[Exception] = tarfile.InvalidHeaderError  # type: ignore[attr-defined]

#: pax records a bundle may need (a long or non-ASCII name); any other is refused.
PAX_KEYS = frozenset({"path"})

_EXTENDED = {
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
}


def _tarinfo_class(limits: Limits, path: Path) -> type[tarfile.TarInfo]:
    class _Checked(tarfile.TarInfo):
        """Refuses oversized extended headers before tarfile reads them into memory."""

        def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
            if self.type in _EXTENDED and self.size > limits.max_header:
                raise ArchiveError(
                    f"an extended tar header of {self.size} bytes (limit {limits.max_header})",
                    path,
                )
            if self.type == tarfile.GNUTYPE_SPARSE:
                raise ArchiveError("sparse members are refused", path)
            if self.type in (tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
                raise ArchiveError(
                    "a global or Solaris extended header: refused (bundles never need one)", path
                )
            return super()._proc_member(tarfile_)  # type: ignore[misc]

        @classmethod
        def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
            # tarfile ends the listing quietly at a damaged or missing header after the first:
            # in an untrusted archive that is corruption or truncation, never the end
            try:
                return super().fromtarfile(tarfile_)
            except _EOF_HEADER:
                raise
            except (_EMPTY_HEADER, _TRUNCATED_HEADER) as e:
                raise ArchiveError(f"truncated: {e} (after byte {tarfile_.offset})", path) from None
            except _INVALID_HEADER as e:
                raise ArchiveError(
                    f"corrupted: {e} (tar header at byte {tarfile_.offset})", path
                ) from None

    return _Checked


def safe_name(name: str, path: Path, max_depth: int = DEFAULT_LIMITS.max_depth) -> PurePosixPath:
    """The member's path relative to the target, or an error for anything that could escape."""
    if "\x00" in name or "\\" in name:
        raise ArchiveError(f"member {name!r}: refused (NUL or backslash in the name)", path)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"member {name!r}: refused (absolute path)", path)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"member {name!r}: refused ('..' in the path)", path)
    if not parts:
        raise ArchiveError(f"member {name!r}: refused (empty name)", path)
    if len(parts) > max_depth:
        raise ArchiveError(
            f"member {name[:60]!r}…: refused ({len(parts)} levels deep, limit {max_depth})", path
        )
    return PurePosixPath(*parts)


def _open_stream(raw: BinaryIO, path: Path, limits: Limits) -> _Bounded:
    head = raw.read(2)
    raw.seek(0)
    if head == GZIP_MAGIC:
        counting = _Counting(raw)
        gz = gzip.GzipFile(fileobj=counting, mode="rb")  # type: ignore[call-overload]
        return _Bounded(gz, counting, limits, path)
    return _Bounded(raw, None, limits, path)


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"a symbolic link to {info.linkname!r}"
    if info.islnk():
        return f"a hard link to {info.linkname!r}"
    if info.ischr() or info.isblk():
        return "a device"
    if info.isfifo():
        return "a FIFO"
    return f"of tar type {info.type!r}"


def extract(path: Path, dest: Path, limits: Limits = DEFAULT_LIMITS) -> list[Member]:
    """Extracts the regular files of `path` under `dest` (an existing, empty folder).

    Raises `ArchiveError` (an `InputError` naming `path`) on the first unsafe, malformed or
    oversized member; what was written before stays under `dest` for the caller to remove."""
    dest = Path(dest)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    members: list[Member] = []
    seen: set[PurePosixPath] = set()
    dirs: set[PurePosixPath] = set()
    try:
        stream = _open_stream(raw, path, limits)
        with tarfile.open(  # type: ignore[call-overload]
            fileobj=stream,
            mode="r|",
            tarinfo=_tarinfo_class(limits, path),
        ) as tf:
            for info in tf:
                extra = set(info.pax_headers) - PAX_KEYS
                if extra:
                    raise ArchiveError(
                        f"member {info.name[:60]!r}: pax header(s) {sorted(extra)[:5]} that a "
                        "bundle never needs: refused",
                        path,
                    )
                rel = safe_name(info.name, path, limits.max_depth)
                if len(members) + len(dirs) >= limits.max_members:
                    raise ArchiveError(f"holds more than {limits.max_members} members", path)
                if rel in seen or rel in dirs:
                    raise ArchiveError(f"member {info.name!r} appears twice", path)
                if any(p in seen for p in rel.parents):
                    raise ArchiveError(f"member {info.name!r} lies under a file", path)
                if info.isdir():
                    dirs.add(rel)
                    continue
                if not info.isreg():
                    raise ArchiveError(f"member {info.name!r} is {_kind(info)}: refused", path)
                if info.size > limits.max_member:
                    raise ArchiveError(
                        f"member {info.name!r} is {info.size} bytes "
                        f"(limit {limits.max_member}): refused",
                        path,
                    )
                seen.add(rel)
                members.append(_write_member(tf, info, rel, dest, path))
            _check_end(tf, path)
    except InputError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ArchiveError(
            f"not a readable tar.gz archive (truncated or corrupted): {e}", path
        ) from None
    except OSError as e:
        raise ArchiveError(f"cannot read the archive: {e}", path) from None
    finally:
        raw.close()
    return members


def _check_end(tf: tarfile.TarFile, path: Path) -> None:
    """After the end-of-archive marker only zero padding may follow: anything else is data
    hidden from every tool that lists the archive."""
    stream = tf.fileobj
    while True:
        b = stream.read(_CHUNK)  # type: ignore[union-attr]
        if not b:
            return
        if b.strip(b"\0"):
            raise ArchiveError("data after the archive's end: refused", path)


def _write_member(
    tf: tarfile.TarFile, info: tarfile.TarInfo, rel: PurePosixPath, dest: Path, path: Path
) -> Member:
    target = dest.joinpath(*rel.parts)
    parent = target.parent
    _make_dirs(dest, rel.parent, path)
    src = tf.extractfile(info)
    if src is None:  # pragma: no cover - regular files always have data
        raise ArchiveError(f"member {info.name!r} has no data", path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o600)
    h = hashlib.sha256()
    left = info.size
    with os.fdopen(fd, "wb") as out:
        while left > 0:
            b = src.read(min(_CHUNK, left))
            if not b:
                raise ArchiveError(f"member {info.name!r} is truncated", path)
            h.update(b)
            out.write(b)
            left -= len(b)
    if not parent.resolve().is_relative_to(dest.resolve()):  # pragma: no cover - defence
        raise ArchiveError(f"member {info.name!r} would land outside the target", path)
    return Member(str(rel), info.size, h.hexdigest())


def _make_dirs(dest: Path, rel: PurePosixPath, path: Path) -> None:
    """Creates each folder of `rel` under `dest`, refusing any that already is a link."""
    cur = dest
    for part in rel.parts:
        cur = cur / part
        try:
            os.mkdir(cur, 0o700)
        except FileExistsError:
            st = os.lstat(cur)
            if not stat.S_ISDIR(st.st_mode):
                raise ArchiveError(f"{cur.relative_to(dest)} is not a folder", path) from None
