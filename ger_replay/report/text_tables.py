"""Tables as text: any analysis DataFrame as Markdown, LaTeX or CSV text (floats to two decimals,
nulls as a dash), for the report's files, and as the terminal shows it (`render_text`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from ger_replay.io.neutral import csv_frame, markdown_cell
from ger_replay.report.tables import _latex_escape


def _cell(v: object, digits: int) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "-" if v != v else f"{v:.{digits}f}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def _numeric(df: pl.DataFrame) -> list[bool]:
    return [dt.is_numeric() for dt in df.dtypes]


def to_markdown(df: pl.DataFrame, digits: int = 2) -> str:
    num = _numeric(df)
    out = [
        "| " + " | ".join(map(markdown_cell, df.columns)) + " |",
        "| " + " | ".join("---:" if n else "---" for n in num) + " |",
    ]
    for r in df.iter_rows():
        out.append("| " + " | ".join(markdown_cell(_cell(v, digits)) for v in r) + " |")
    return "\n".join(out) + "\n"


def to_latex(df: pl.DataFrame, digits: int = 2) -> str:
    spec = "".join("r" if n else "l" for n in _numeric(df))
    out = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(_latex_escape(c) for c in df.columns) + " \\\\",
        "\\midrule",
    ]
    for r in df.iter_rows():
        out.append(" & ".join(_latex_escape(_cell(v, digits)) for v in r) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def to_csv(df: pl.DataFrame) -> str:
    lists = [c for c, t in df.schema.items() if isinstance(t, pl.List)]
    if lists:
        df = df.with_columns(pl.col(c).list.join(";") for c in lists)
    return csv_frame(df).write_csv()


#: The formats `render_text` writes.
TEXT_FORMATS = ("table", "markdown", "csv", "json", "latex")


def aligned(heads: Sequence[str], body: Sequence[Sequence[str]], numeric: Sequence[bool]) -> str:
    """The plain terminal table every command prints: columns two spaces apart, a dashed rule
    under the header, numbers right-aligned, nothing cut or wrapped."""
    widths = [max([len(h), *(len(b[i]) for b in body)]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(heads), "  ".join("-" * w for w in widths), *map(line, body)])


def to_aligned(df: pl.DataFrame, digits: int = 2) -> str:
    """A DataFrame as the plain aligned table (floats to `digits` decimals, nulls as a dash)."""
    body = [[_cell(v, digits).replace("\n", " ") for v in r] for r in df.iter_rows()]
    return aligned(df.columns, body, _numeric(df))


def json_ready(v: Any, digits: int = 10) -> Any:
    """A value for JSON output: floats rounded to `digits` decimals (-7.5, not -7.500000000000007;
    ten keep `score --expect` exact at its default tolerance),
    NaN as null, containers walked."""
    if isinstance(v, float):
        return None if v != v else round(v, digits)
    if isinstance(v, dict):
        return {k: json_ready(x, digits) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_ready(x, digits) for x in v]
    return v


def to_json(data: Any) -> str:
    """JSON text of rows or sections, floats rounded by `json_ready`."""
    return json.dumps(json_ready(data), indent=2, default=str, ensure_ascii=False)


def render_text(df: pl.DataFrame, fmt: str) -> str:
    """A DataFrame as the terminal shows it: the aligned table, Markdown, CSV or JSON."""
    if fmt == "markdown":
        return to_markdown(df).rstrip("\n")
    if fmt == "csv":
        return to_csv(df).rstrip("\n")
    if fmt == "json":
        return to_json(df.to_dicts())
    if fmt == "latex":
        return to_latex(df).rstrip("\n")
    return to_aligned(df)
