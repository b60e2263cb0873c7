"""Score rows as text: a terminal table, Markdown, CSV, JSON and LaTeX."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from ger_replay.io.neutral import csv_cell, markdown_cell
from ger_replay.report import json_text
from ger_replay.score.scoring import PARTIAL_BELOW

FORMATS = ("table", "markdown", "csv", "json", "latex")

#: Decimals of the floats in JSON output: no float noise, and `--expect` stays exact.
JSON_DIGITS = 10

#: (header, key) of the summary columns, in order.
COLUMNS: list[tuple[str, str]] = [
    ("run", "run"),
    ("dataset", "dataset"),
    ("metric", "metric"),
    ("value", "value"),
    ("95% CI", "ci"),
    ("paper", "paper"),
    ("delta", "delta"),
    ("scored", "n_scored"),
    ("total", "n_total"),
    ("majority", "majority"),
    ("paper majority", "paper_majority"),
    ("random", "random"),
    ("paper random", "paper_random"),
]


def rules_line(rows: Sequence[dict[str, Any]]) -> str | None:
    """The line naming the rule set(s) that made the rows, for under a text table."""
    from ger_replay.protocol.rulesets import describe

    names = list(dict.fromkeys(str(r["rules"]) for r in rows if r.get("rules")))
    return "; ".join(describe(n) for n in names) if names else None


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        s = f"{v:.2f}"
        return "0.00" if s == "-0.00" else s
    return str(v)


def note(row: dict[str, Any]) -> str:
    """What a reader must know of a run before trusting its value: synthetic (the demo runs,
    answered by the simulator) and partial (too few samples answered, see PARTIAL_BELOW)."""
    notes = []
    if row.get("synthetic"):
        notes.append("SYNTHETIC")
    if row.get("partial"):
        answered = row.get("answered")
        notes.append("partial" + (f" ({answered:.0f}% answered)" if answered is not None else ""))
    return ", ".join(notes)


def _cells(row: dict[str, Any], ci_label: bool = True) -> list[str]:
    out = []
    for _, key in COLUMNS:
        if key == "ci":
            lo, hi = row.get("ci_low"), row.get("ci_high")
            out.append("-" if lo is None or hi is None else f"[{lo:.2f}, {hi:.2f}]")
        else:
            out.append(_num(row.get(key)))
    return out


def _headers(rows: Sequence[dict[str, Any]]) -> list[str]:
    conf = next((r.get("confidence") for r in rows if r.get("confidence")), None)
    heads = [h for h, _ in COLUMNS]
    if conf:
        heads[4] = f"{conf * 100:g}% CI"
    return heads


def _has_ci(rows: Sequence[dict[str, Any]]) -> bool:
    return any(r.get("ci_low") is not None for r in rows)


def _select(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    heads = _headers(rows)
    body = [_cells(r) for r in rows]
    if not _has_ci(rows):
        heads = heads[:4] + heads[5:]
        body = [b[:4] + b[5:] for b in body]
    notes = [note(r) for r in rows]
    if any(notes):
        heads.append("note")
        body = [[*b, n] for b, n in zip(body, notes, strict=True)]
    return heads, body


def legend(rows: Sequence[dict[str, Any]]) -> str:
    """A line under a score table explaining its notes, or nothing."""
    out = []
    if any(r.get("synthetic") for r in rows):
        out.append("SYNTHETIC: answered by the simulator, not a model; its scores mean nothing.")
    if any(r.get("partial") for r in rows):
        out.append(
            f"partial: fewer than {PARTIAL_BELOW:.0%} of the test samples were answered; "
            "left out of summaries."
        )
    return "\n".join(out)


def to_table(rows: Sequence[dict[str, Any]]) -> str:
    heads, body = _select(rows)
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)
    ]
    numeric = [i >= 3 and h != "note" for i, h in enumerate(heads)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    out = [line(heads), "  ".join("-" * w for w in widths)]
    out += [line(b) for b in body]
    foot = "\n".join(x for x in (legend(rows), rules_line(rows)) if x)
    if foot:
        out += ["", foot]
    return "\n".join(out)


def to_markdown(rows: Sequence[dict[str, Any]]) -> str:
    heads, body = _select(rows)
    align = ["---" if i < 3 or h == "note" else "---:" for i, h in enumerate(heads)]
    out = ["| " + " | ".join(map(markdown_cell, heads)) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(markdown_cell(c) for c in b) + " |" for b in body]
    foot = "\n\n".join(x for x in (legend(rows), rules_line(rows)) if x)
    if foot:
        out += ["", foot]
    return "\n".join(out)


def _latex_escape(s: str) -> str:
    rep = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(rep.get(ch, ch) for ch in s)


def to_latex(rows: Sequence[dict[str, Any]]) -> str:
    heads, body = _select(rows)
    spec = "lll" + "".join("l" if h == "note" else "r" for h in heads[3:])
    out = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(_latex_escape(h) for h in heads) + " \\\\",
        "\\midrule",
    ]
    out += [" & ".join(_latex_escape(c) for c in b) + " \\\\" for b in body]
    out += ["\\bottomrule", "\\end{tabular}"]
    foot = rules_line(rows)
    if foot:
        out.append(f"% {foot}")
    return "\n".join(out)


#: The columns of CSV output, in order.
CSV_KEYS = [
    "run",
    "dataset",
    "task",
    "model",
    "template",
    "frames",
    "color",
    "modality",
    "repeat",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n_scored",
    "n_total",
    "coverage",
    "majority",
    "random",
    "paper",
    "delta",
    "paper_majority",
    "paper_random",
    "acc",
    "uar",
    "waf",
    "macro_f1",
    "rules",
    "answered",
    "partial",
    "synthetic",
]


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_KEYS)
    columns = [_csv_column([r.get(k) for r in rows]) for k in CSV_KEYS]
    w.writerows(zip(*columns, strict=True))
    return buf.getvalue().rstrip("\n")


def _csv_column(values: list[Any]) -> list[Any]:
    """The cells of one CSV column: each value as the JSON output means it (`json_text.clean`:
    NaN as None, floats rounded to JSON_DIGITS), None as an empty cell, text kept from reading
    as a formula (`csv_cell`). A column at a time: thousands of rows, a few kinds of value."""
    kinds = set(map(type, values))
    if kinds <= {float, type(None)}:
        return _float_cells(values)
    if kinds <= {str, type(None)}:  # few distinct values, mostly
        cells = {v: "" if v is None else csv_cell(v) for v in set(values)}
        return [cells[v] for v in values]
    if kinds <= {int, bool, type(None)}:  # `clean` and `csv_cell` leave them as they are
        return ["" if v is None else v for v in values]
    return ["" if v is None else csv_cell(json_text.clean(v, JSON_DIGITS)) for v in values]


def _float_cells(values: list[float | None]) -> list[str]:
    """The cells of a column of floats (and None) as the csv module writes them: the `repr` of
    each float rounded to JSON_DIGITS, NaN and None empty. The JSON text of the column holds
    those very `repr`s (null for NaN and None, Infinity for inf), one a line, written at once."""
    if not values:
        return []
    text = json_text.dumps(values, JSON_DIGITS)  # "[\n  1.5,\n  null\n]"
    return text[4:-2].replace("null", "").replace("Infinity", "inf").split(",\n  ")


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json_text.dumps(list(rows), JSON_DIGITS)


def render_scores(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """Score rows as an aligned table, Markdown, CSV, JSON or LaTeX."""
    return {
        "table": to_table,
        "markdown": to_markdown,
        "csv": to_csv,
        "json": to_json,
        "latex": to_latex,
    }[fmt](rows)
