"""Errors that name the file (and line) at fault. Every user-facing failure is one of these."""

from __future__ import annotations

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
