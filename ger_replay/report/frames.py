"""Any analysis DataFrame as Markdown, LaTeX or CSV text (floats to two decimals, nulls as a
dash), for the report's files."""

from __future__ import annotations

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
