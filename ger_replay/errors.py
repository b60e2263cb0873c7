"""Errors that name the file (and line) at fault. Every user-facing failure is one of these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


class GerReplayError(Exception):
    """A problem with an input the user gave: the message names the file and, where there is
    one, the line."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return where + self.message


class InputError(GerReplayError):
    """Bad input data: a missing file, wrong columns, an unknown label or dataset."""


class CoreError(GerReplayError, ValueError):
    """A computation of the Rust core refused its arguments (an unknown metric, a class code out
    of range, labels that do not fold). Raised by `ger_replay._core`; also a `ValueError`."""


#: Names spelled out in one message at most: a run list over a leaderboard of thousands stays
#: one readable line; the rest are counted.
NAMES_SHOWN = 20


def some_names(names: Sequence[str], limit: int = NAMES_SHOWN) -> str:
    """`names` comma separated for a message: the first `limit`, then how many more."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit:,} more"


def repeated_runs(runs: Iterable[str]) -> InputError:
    """The error naming runs given more than once or holding a sample twice (left out: scoring
    them would count samples twice)."""
    said = "run(s) given more than once, or with duplicate samples"
    return InputError(f"{said}: {some_names(sorted(runs))}")
