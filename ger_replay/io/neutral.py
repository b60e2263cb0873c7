"""Text from strangers made harmless where it is shown: spreadsheet formulas in CSV cells,
control sequences on a terminal, HTML and pipes in Markdown tables."""

from __future__ import annotations

import re
from typing import TypeVar

import polars as pl

#: A CSV cell starting with one of these is taken as a formula by spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def csv_cell(v: object) -> object:
    """A cell that cannot start a formula: a leading quote before = + - @ TAB CR (and before a
    leading quote, so `csv_uncell` can undo it); numbers stay numbers."""
    if not isinstance(v, str) or not v:
        return v
    if v.startswith("'") or (v.startswith(FORMULA_START) and not _NUMBER.match(v)):
        return "'" + v
    return v


def csv_uncell(v: str | None) -> str | None:
    """The value `csv_cell` protected, for readers of the project's own CSV files."""
    if v is not None and v.startswith("'"):
        return v[1:]
    return v


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _schema(df: pl.DataFrame | pl.LazyFrame) -> pl.Schema:
    return df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema


def csv_frame(df: Frame) -> Frame:
    """Every string column of `df` (a DataFrame or a LazyFrame) through `csv_cell`
    (vectorised)."""
    cols = [c for c, t in _schema(df).items() if t == pl.String]
    if not cols:
        return df
    pattern = r"^(?:'|[=+\-@\t\r])"
    number = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
    return df.with_columns(
        pl.when(pl.col(c).str.contains(pattern) & ~pl.col(c).str.contains(number))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in cols
    )


def csv_unframe(df: Frame) -> Frame:
    cols = [c for c, t in _schema(df).items() if t == pl.String]
    if not cols:
        return df
    return df.with_columns(
        pl.when(pl.col(c).str.starts_with("'"))
        .then(pl.col(c).str.slice(1))
        .otherwise(pl.col(c))
        .alias(c)
        for c in cols
    )


# ESC-introduced sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-byte escapes), their 8-bit C1
# forms, then any remaining C0/C1 control but newline and tab.
CONTROL_PATTERN = (
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_SEQ = re.compile(CONTROL_PATTERN)


def terminal(text: str) -> str:
    """`text` without terminal control sequences or control characters (newline and tab kept)."""
    return _SEQ.sub("", text) if _CONTROL.search(text) else text


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def markdown_cell(s: str) -> str:
    """A Markdown table cell: HTML escaped, pipes escaped, line breaks as spaces."""
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("\\", "\\\\").replace("|", "\\|")
    return terminal(s.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
