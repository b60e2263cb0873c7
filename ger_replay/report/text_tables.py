"""Tables as text: any analysis DataFrame as Markdown, LaTeX or CSV text (floats to two decimals,
nulls as a dash), for the report's files, and as the terminal shows it (`render_text`)."""

from __future__ import annotations

import json

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
TEXT_FORMATS = ("table", "markdown", "csv", "json")


def render_text(df: pl.DataFrame, fmt: str) -> str:
    """A DataFrame as the terminal shows it: an aligned table, Markdown, CSV or JSON."""
    if fmt == "markdown":
        return to_markdown(df).rstrip("\n")
    if fmt == "csv":
        return to_csv(df).rstrip("\n")
    if fmt == "json":
        return json.dumps(df.to_dicts(), indent=2, default=str)
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=60,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=2,
        tbl_formatting="ASCII_MARKDOWN",
    ):
        return str(df)
