"""Score tables in the paper's layout: one table per task, a column per dataset (Twitter I once
per agreement subset), a row per setting (model, template, frames, color, modality, repeat), and
the Random and Majority baselines first, then the paper's own rows (its GPT-4V number for each
setting and the best supervised system it quotes). Cells carry the metric, its interval and the
coverage.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ger_replay.analysis.runsets import SETTING_COLUMNS
from ger_replay.analysis.stability import MAJORITY_SOURCE
from ger_replay.io.neutral import csv_cell, markdown_cell
from ger_replay.protocol import datasets, reference
from ger_replay.protocol.datasets import TASK_TITLES, Task
from ger_replay.report.tables import _latex_escape

BASELINES = ("Random", "Majority")
#: Rows holding the paper's numbers (from the package's reference values, not computed).
PAPER_GPT4V = "GPT-4V (paper)"
BEST_SUPERVISED = "Best supervised (paper)"
_SUBSET_ORDER = {"": 0, "5 agree": 1, "4 agree": 2, "3 agree": 3}


@dataclass(frozen=True)
class Cell:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n_scored: int | None = None
    n_total: int | None = None
    run: str | None = None
    #: the system a paper row quotes (best supervised), shown beside the value
    note: str | None = None


@dataclass
class PaperTable:
    task: str
    title: str
    #: (column heading, metric) in dataset registry order
    columns: list[tuple[str, str]]
    #: row name -> column heading -> cell; baselines first
    rows: dict[str, dict[str, Cell]] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return f"table_{self.task}"


def _column_order(scores: pl.DataFrame) -> list[tuple[str, str]]:
    order = {k: i for i, k in enumerate(datasets.DATASETS)}
    seen = scores.select("dataset", "subset", "column", "metric").unique(maintain_order=True)
    rows = sorted(
        seen.iter_rows(named=True),
        key=lambda r: (order.get(r["dataset"], 99), _SUBSET_ORDER.get(r["subset"], 9)),
    )
    return [(r["column"], r["metric"]) for r in rows]


def _varying(task_rows: pl.DataFrame) -> list[str]:
    return [c for c in SETTING_COLUMNS if task_rows.get_column(c).n_unique() > 1]


def _setting_words(r: dict[str, Any], varying: list[str]) -> list[str]:
    return [_setting_word(c, r[c]) for c in varying if c != "model" and r[c] is not None]


def row_labels(scores: pl.DataFrame) -> dict[str, str]:
    """run -> the name of its row: the model, then whatever setting differs between the runs
    of the same task (e.g. "gpt-4-vision-preview, gray"), "run 3" for repeats, and
    "(synthetic)" or "(partial)" where the run is."""
    out: dict[str, str] = {}
    for task_rows in scores.partition_by("task", maintain_order=True):
        varying = _varying(task_rows)
        repeats = task_rows.get_column("repeat").drop_nulls().n_unique() > 1
        for r in task_rows.iter_rows(named=True):
            parts = [str(r["model"] or "model"), *_setting_words(r, varying)]
            label = ", ".join(parts)
            if r["source"] == MAJORITY_SOURCE:
                label += ", majority vote"
            elif repeats and r["repeat"] is not None:
                label += f", run {r['repeat']}"
            flags = [f for f in ("synthetic", "partial") if r.get(f)]
            if flags:  # never pasted into a paper as a whole model's result
                label += f" ({', '.join(flags)})"
            out[r["run"]] = label
    return out


def _setting_word(col: str, v: Any) -> str:
    if col == "template":
        return f"template #{v}"
    if col == "frames":
        return f"{v} frames"
    if col == "modality":
        return {"multi": "video+text", "image+text": "image+text"}.get(str(v), str(v))
    if col == "color":
        return {"gray": "grayscale", "rgb": "RGB"}.get(str(v), str(v))
    return str(v)


def paper_tables(scores: pl.DataFrame) -> list[PaperTable]:
    """The tables of a scoring (rows of `runsets.score_runs`), one per task present."""
    labels = row_labels(scores)
    out = []
    for task in Task:
        sub = scores.filter(pl.col("task") == str(task))
        if sub.height == 0:
            continue
        cols = _column_order(sub)
        t = PaperTable(str(task), TASK_TITLES[task], cols)
        for name, key in (("Random", "random"), ("Majority", "majority")):
            t.rows[name] = {}
            for col, _ in cols:
                first = sub.filter(pl.col("column") == col).row(0, named=True)
                t.rows[name][col] = Cell(first[key])
        _paper_rows(t, sub)
        for r in sub.iter_rows(named=True):
            row = t.rows.setdefault(labels[r["run"]], {})
            if r["column"] in row:  # two runs of one setting and dataset: keep both, apart
                row = t.rows.setdefault(f"{labels[r['run']]} ({r['run']})", {})
            row[r["column"]] = Cell(
                r["value"], r["ci_low"], r["ci_high"], r["n_scored"], r["n_total"], r["run"]
            )
        out.append(t)
    return out


def _paper_rows(t: PaperTable, sub: pl.DataFrame) -> None:
    """The paper's GPT-4V row(s) (one per setting the runs map to, e.g. 2 and 3 frames) and its
    best supervised system, per column."""
    varying = _varying(sub)
    gpt: dict[str, dict[str, Cell]] = {}
    for r in sub.iter_rows(named=True):
        if r["paper"] is None:
            continue
        name = ", ".join([PAPER_GPT4V, *_setting_words(r, varying)])
        gpt.setdefault(name, {})[r["column"]] = Cell(r["paper"])
    t.rows.update(sorted(gpt.items()))
    best: dict[str, Cell] = {}
    for col, _ in t.columns:
        first = sub.filter(pl.col("column") == col).row(0, named=True)
        row = reference.best_supervised(first["dataset"], first["run"])
        if row is not None:
            best[col] = Cell(row.value, note=row.model)
    if best:
        t.rows[BEST_SUPERVISED] = best


def is_paper_row(name: str) -> bool:
    return name.startswith(PAPER_GPT4V) or name == BEST_SUPERVISED


def _fmt(c: Cell | None, coverage: bool) -> str:
    if c is None or c.value is None:
        return "-"
    s = f"{c.value:.2f}"
    if c.note:
        s += f" ({c.note})"
    if c.ci_low is not None and c.ci_high is not None:
        s += f" [{c.ci_low:.2f}, {c.ci_high:.2f}]"
    if coverage and c.n_total is not None and c.n_scored is not None and c.n_scored != c.n_total:
        s += f" ({c.n_scored}/{c.n_total})"
    return s


def to_markdown(t: PaperTable) -> str:
    heads = ["", *[f"{c} ({m})" for c, m in t.columns]]
    out = [
        f"**{t.title}.** Metric in percent; 95% interval in brackets where computed; "
        "(scored/total) where samples are left out. Rows marked (paper) are the paper's "
        "published numbers.",
        "",
        "| " + " | ".join(map(markdown_cell, heads)) + " |",
        "| --- | " + " | ".join("---:" for _ in t.columns) + " |",
    ]
    for name, cells in t.rows.items():
        vals = [_fmt(cells.get(c), True) for c, _ in t.columns]
        label = f"*{name}*" if name in BASELINES or is_paper_row(name) else name
        out.append("| " + " | ".join([markdown_cell(label), *vals]) + " |")
    return "\n".join(out)


def to_latex(t: PaperTable) -> str:
    spec = "l" + "c" * len(t.columns)
    heads = ["Method", *[f"{c} ({m})" for c, m in t.columns]]
    out = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{_latex_escape(t.title)}. Metric in percent, 95\\% interval in brackets.}}",
        f"\\label{{tab:{t.task}}}",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(_latex_escape(h) for h in heads) + " \\\\",
        "\\midrule",
    ]
    names = list(t.rows)
    for i, (name, cells) in enumerate(t.rows.items()):
        vals = []
        for c, _ in t.columns:
            cell = cells.get(c)
            if cell is None or cell.value is None:
                vals.append("-")
            elif cell.ci_low is not None and cell.ci_high is not None:
                vals.append(
                    f"{cell.value:.2f} {{\\scriptsize [{cell.ci_low:.2f}, {cell.ci_high:.2f}]}}"
                )
            elif cell.note:
                vals.append(f"{cell.value:.2f} {{\\scriptsize ({_latex_escape(cell.note)})}}")
            else:
                vals.append(f"{cell.value:.2f}")
        out.append(" & ".join([_latex_escape(name), *vals]) + " \\\\")
        nxt = names[i + 1] if i + 1 < len(names) else None
        if nxt is not None and _group(name) != _group(nxt):
            out.append("\\midrule")
    out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(out)


def _group(name: str) -> int:
    return 0 if name in BASELINES else 1 if is_paper_row(name) else 2


def to_frame(t: PaperTable) -> pl.DataFrame:
    """The table in long form, numbers unformatted: row, column, metric, value, interval."""
    recs = []
    metric = dict(t.columns)
    for name, cells in t.rows.items():
        for col, _ in t.columns:
            c = cells.get(col)
            if c is None:
                continue
            recs.append(
                {
                    "task": t.task,
                    "row": name,
                    "column": col,
                    "metric": metric[col],
                    "value": c.value,
                    "ci_low": c.ci_low,
                    "ci_high": c.ci_high,
                    "n_scored": c.n_scored,
                    "n_total": c.n_total,
                    "run": c.run,
                    "note": c.note,
                }
            )
    return pl.DataFrame(
        recs,
        schema={
            "task": pl.String,
            "row": pl.String,
            "column": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "n_scored": pl.Int64,
            "n_total": pl.Int64,
            "run": pl.String,
            "note": pl.String,
        },
    )


def to_csv(t: PaperTable) -> str:
    buf = io.StringIO()
    frame = to_frame(t)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(frame.columns)
    for r in frame.iter_rows():
        w.writerow(["" if v is None else csv_cell(v) for v in r])
    return buf.getvalue()
