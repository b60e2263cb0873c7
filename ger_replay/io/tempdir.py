"""Private temporary folders whose removal cannot fail on hostile content: no recursion (any
depth), no long paths (each folder is moved up next to the others before it is emptied), links
removed and never followed."""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def remove_tree(root: Path) -> None:
    """Removes `root` and everything under it; errors on single entries are skipped."""
    try:
        rfd = os.open(root, _DIR_FLAGS)
    except FileNotFoundError:
        return
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(root)
        return
    counter = itertools.count()
    try:
        work = [e.name for e in os.scandir(rfd)]
        while work:
            name = work.pop()
            try:
                st = os.lstat(name, dir_fd=rfd)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=rfd)
                continue
            try:
                dfd = os.open(name, _DIR_FLAGS, dir_fd=rfd)
            except OSError:
                continue
            try:
                for e in list(os.scandir(dfd)):
                    try:
                        if e.is_dir(follow_symlinks=False):
                            flat = f".flat-{next(counter)}"
                            os.rename(e.name, flat, src_dir_fd=dfd, dst_dir_fd=rfd)
                            work.append(flat)
                        else:
                            os.unlink(e.name, dir_fd=dfd)
                    except OSError:
                        continue
            finally:
                os.close(dfd)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=rfd)
    finally:
        os.close(rfd)
    with contextlib.suppress(OSError):
        os.rmdir(root)


@contextlib.contextmanager
def private_dir(prefix: str) -> Iterator[Path]:
    """A new folder only this user can read (mode 0700), removed when the block ends."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        remove_tree(path)
