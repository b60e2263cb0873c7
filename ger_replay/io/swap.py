"""Writing a whole folder at once: the content goes into a fresh sibling folder that replaces the
target only when it is complete. A rewrite leaves only the new content (no stale file of the
earlier one); a crash or Ctrl-C halfway leaves the earlier folder as it was.

Only a folder that this tool wrote (it holds the marker file) or an empty one is ever replaced:
pointing `-o` at a folder of other things is refused, never emptied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ger_replay.errors import InputError
from ger_replay.io.atomic import dir_mode


def _replaceable(target: Path, marker: str, known: frozenset[str]) -> bool:
    if not target.exists() and not target.is_symlink():
        return True
    if target.is_symlink() or not target.is_dir():
        return False
    names = {p.name for p in target.iterdir()}
    return marker in names or not names or (bool(known) and names <= known)


@contextlib.contextmanager
def fresh_folder(target: Path, marker: str, known: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Yields a new empty folder beside `target` to write into; when the block ends without an
    error the folder gets the usual mode, the file `marker` and `target`'s name, and the earlier
    `target` is removed. On an error (or Ctrl-C) the new folder is removed and `target` is
    untouched. A `target` holding only names in `known` (what older versions wrote, without
    the marker) is replaced too."""
    target = Path(target)
    if not _replaceable(target, marker, known):
        raise InputError(
            "exists and is not a folder this tool wrote (no "
            f"{marker}); choose a new folder or remove it first",
            target,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield new
        (new / marker).write_text("written by ger-replay; replaced whole on each rewrite\n")
        os.chmod(new, dir_mode())
        _swap(new, target)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def _swap(new: Path, target: Path) -> None:
    """`new` takes `target`'s name; an earlier `target` is moved aside first, then removed."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "x")
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old / "x", target)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
