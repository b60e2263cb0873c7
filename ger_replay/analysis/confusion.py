"""Confusion matrices and class-wise recall of every run (the paper's Figure 4).

Rows are the true score classes. Columns are the predicted classes, then one column per kind of
failure (refused, unparseable, count mismatch, unanswered, no candidate label) so that answers
the metric leaves out stay visible. Row percentages are over every sample of the row, failures
included.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import ger_replay._core as _core
from ger_replay.io import table
from ger_replay.score.scoring import Coded, RuleSet, code_run

#: The failure statuses, in the order their columns appear.
FAILURES: tuple[str, ...] = tuple(s for s in table.STATUSES if s != table.OK)
#: The heading of the single column that sums every failure in `matrix`.
NO_ANSWER = "no answer"

LONG_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "dataset": pl.String(),
    "truth": pl.String(),
    "predicted": pl.String(),
    "failure": pl.Boolean(),
    "count": pl.Int64(),
    "row_percent": pl.Float64(),
}


def matrix(c: Coded) -> tuple[list[str], list[str], np.ndarray]:
    """(row labels, column labels, counts) of one run: `C x (C + 1)`, the last column counting
    the samples with no usable prediction."""
    counts = np.asarray(_core.confusion_matrix(c.truth, c.pred, len(c.classes)), dtype=np.int64)
    return list(c.classes), [*c.classes, NO_ANSWER], counts


def normalised(counts: np.ndarray) -> np.ndarray:
    """Row percentages (a row with no samples stays 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    tot = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(tot > 0, counts / np.where(tot > 0, tot, 1) * 100, 0.0)
    return out


def run_confusion(c: Coded) -> pl.DataFrame:
    """One run's confusion in long form: a row per (truth, predicted) cell, every cell listed;
    failures broken down by status."""
    classes = list(c.classes)
    n = len(classes)
    answered = c.pred >= 0
    cells = np.zeros((n, n), dtype=np.int64)
    np.add.at(cells, (c.truth[answered], c.pred[answered]), 1)
    status = np.asarray(c.status, dtype=object)
    # A row marked ok whose prediction could not be used counts as "no candidate".
    status = np.where((status == table.OK) & ~answered, table.NO_CANDIDATE, status)
    fail = np.zeros((n, len(FAILURES)), dtype=np.int64)
    for j, s in enumerate(FAILURES):
        m = (status == s) & ~answered
        if m.any():
            fail[:, j] = np.bincount(c.truth[m], minlength=n)
    row_tot = cells.sum(axis=1) + fail.sum(axis=1)
    rows = []
    for i, t in enumerate(classes):
        denom = row_tot[i] if row_tot[i] else 1
        for j, p in enumerate(classes):
            rows.append(
                (c.run, c.dataset.key, t, p, False, int(cells[i, j]), cells[i, j] / denom * 100)
            )
        for j, s in enumerate(FAILURES):
            rows.append(
                (c.run, c.dataset.key, t, s, True, int(fail[i, j]), fail[i, j] / denom * 100)
            )
    return pl.DataFrame(rows, schema=LONG_SCHEMA, orient="row")


def confusion(df: pl.DataFrame, rules: RuleSet | str = "paper") -> pl.DataFrame:
    """The confusion of every run of a predictions table, in long form (see `run_confusion`)."""
    frames = [
        run_confusion(code_run(r, rules=rules)) for r in df.partition_by("run", maintain_order=True)
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=LONG_SCHEMA)


def wide(
    long: pl.DataFrame, value: str = "count", drop_empty_failures: bool = True
) -> pl.DataFrame:
    """One run's long confusion as a matrix: a row per true class, a column per predicted class
    and per failure (failure columns with no sample dropped unless asked)."""
    if long.get_column("run").n_unique() != 1:
        raise ValueError("wide() takes the confusion of one run")
    cols = long.get_column("predicted").unique(maintain_order=True).to_list()
    if drop_empty_failures:
        used = (
            long.group_by("predicted")
            .agg(pl.col("count").sum(), pl.col("failure").first())
            .filter(~pl.col("failure") | (pl.col("count") > 0))
            .get_column("predicted")
            .to_list()
        )
        cols = [c for c in cols if c in used]
    out = long.filter(pl.col("predicted").is_in(cols)).pivot(
        on="predicted", index="truth", values=value, maintain_order=True
    )
    return out.select("truth", *cols)


def class_recall(df: pl.DataFrame, rules: RuleSet | str = "paper") -> pl.DataFrame:
    """Per run and class: support, recall, precision and F1 in percent (Figure 4's bars), under
    the rule set."""
    rows = []
    for run_df in df.partition_by("run", maintain_order=True):
        c = code_run(run_df, rules=rules)
        t, p = c.select()
        if len(t) == 0:
            continue
        m = _core.compute_metrics(t, p, len(c.classes))
        for i, cls in enumerate(c.classes):
            rows.append(
                {
                    "run": c.run,
                    "dataset": c.dataset.key,
                    "class": cls,
                    "support": int(m["support"][i]),  # type: ignore[index]
                    "recall": _pct(m["recall"][i]),  # type: ignore[index]
                    "precision": _pct(m["precision"][i]),  # type: ignore[index]
                    "f1": _pct(m["f1"][i]),  # type: ignore[index]
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "run": pl.String,
            "dataset": pl.String,
            "class": pl.String,
            "support": pl.Int64,
            "recall": pl.Float64,
            "precision": pl.Float64,
            "f1": pl.Float64,
        },
    )


def _pct(v: float) -> float | None:
    return None if v != v else float(v) * 100
