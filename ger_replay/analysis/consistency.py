"""Per-class agreement between two runs on the same samples (the paper's Figure 5: RGB vs gray).

For each true class: of the samples both runs answered, the share where both predicted the same
score class, and how the two runs split on correctness. Over all samples: raw agreement and
Cohen's kappa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from ger_replay.analysis import runsets
from ger_replay.errors import InputError
from ger_replay.score.scoring import Coded, RuleSet, code_run, matched_indices

PER_CLASS_SCHEMA: dict[str, pl.DataType] = {
    "class": pl.String(),
    "n": pl.Int64(),
    "n_both": pl.Int64(),
    "agree": pl.Int64(),
    "agreement": pl.Float64(),
    "both_correct": pl.Int64(),
    "only_a": pl.Int64(),
    "only_b": pl.Int64(),
    "neither": pl.Int64(),
    "recall_a": pl.Float64(),
    "recall_b": pl.Float64(),
}


@dataclass
class Consistency:
    run_a: str
    run_b: str
    dataset: str
    #: a row per true class, then a row "all"
    per_class: pl.DataFrame
    #: one row: n_common, n_both, agreement, cohen_kappa, only_in_a, only_in_b
    summary: pl.DataFrame


def cohen_kappa(a: np.ndarray, b: np.ndarray, n_classes: int) -> float | None:
    """Cohen's kappa of two label vectors (codes 0..n_classes-1), None for no items."""
    if len(a) == 0:
        return None
    table = np.zeros((n_classes, n_classes), dtype=np.float64)
    np.add.at(table, (a, b), 1)
    n = table.sum()
    po = np.trace(table) / n
    pe = float((table.sum(axis=0) * table.sum(axis=1)).sum()) / (n * n)
    if pe == 1.0:
        return 1.0 if po == 1.0 else None
    return float((po - pe) / (1 - pe))


def _align(a: Coded, b: Coded) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    ia_arr, ib_arr = matched_indices(a.sample_id, b.sample_id)
    return (
        a.truth[ia_arr],
        a.pred[ia_arr],
        b.pred[ib_arr],
        len(a.sample_id) - len(ia_arr),
        len(b.sample_id) - len(ib_arr),
    )


def _row(name: str, t: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> dict[str, object]:
    both = (pa >= 0) & (pb >= 0)
    agree = int(((pa == pb) & both).sum())
    ca, cb = pa == t, pb == t
    nb = int(both.sum())
    return {
        "class": name,
        "n": len(t),
        "n_both": nb,
        "agree": agree,
        "agreement": agree / nb * 100 if nb else None,
        "both_correct": int((ca & cb).sum()),
        "only_a": int((ca & ~cb).sum()),
        "only_b": int((~ca & cb).sum()),
        "neither": int((~ca & ~cb).sum()),
        "recall_a": float(ca.mean() * 100) if len(t) else None,
        "recall_b": float(cb.mean() * 100) if len(t) else None,
    }


def consistency(
    df: pl.DataFrame, run_a: str, run_b: str, rules: RuleSet | str = "paper"
) -> Consistency:
    """Agreement of two runs of one dataset, per true class and overall."""
    if run_a == run_b:
        raise InputError(f"consistency needs two different runs; got {run_a} twice")
    sub = runsets.select_runs(df, [run_a, run_b])
    key = runsets.one_dataset(sub, "consistency")
    a = code_run(sub.filter(pl.col("run") == run_a), rules=rules)
    b = code_run(sub.filter(pl.col("run") == run_b), rules=rules)
    t, pa, pb, only_a, only_b = _align(a, b)
    if len(t) == 0:
        raise InputError(f"consistency: runs {run_a} and {run_b} share no scorable samples")
    rows = [_row(cls, t[t == i], pa[t == i], pb[t == i]) for i, cls in enumerate(a.classes)]
    rows.append(_row("all", t, pa, pb))
    both = (pa >= 0) & (pb >= 0)
    kappa = cohen_kappa(pa[both], pb[both], len(a.classes))
    overall = rows[-1]
    summary = pl.DataFrame(
        [
            {
                "run_a": run_a,
                "run_b": run_b,
                "dataset": key,
                "n_common": len(t),
                "n_both": overall["n_both"],
                "agreement": overall["agreement"],
                "cohen_kappa": kappa,
                "only_in_a": only_a,
                "only_in_b": only_b,
            }
        ]
    )
    return Consistency(run_a, run_b, key, pl.DataFrame(rows, schema=PER_CLASS_SCHEMA), summary)


def color_pairs(df: pl.DataFrame) -> list[tuple[str, str]]:
    """(rgb run, gray run) of every color robustness set: the pairs Figure 5 compares."""
    out = []
    for fs in runsets.factor_sets(df, ["color"]):
        levels = dict(fs.levels)
        if "rgb" in levels and "gray" in levels:
            out.append((levels["rgb"], levels["gray"]))
    return out


class _Paired(Protocol):
    classes: tuple[str, ...]
    truth: np.ndarray
    pred_a: np.ndarray
    pred_b: np.ndarray


def paired_agreement(p: _Paired) -> dict[str, float | None]:
    """The `compare` section: per true class, the percentage of the paired samples both runs
    answered on which they predict the same class (Figure 5), and "all"."""
    out: dict[str, float | None] = {}
    for i, cls in enumerate([*p.classes, "all"]):
        m = np.ones(len(p.truth), bool) if cls == "all" else p.truth == i
        both = m & (p.pred_a >= 0) & (p.pred_b >= 0)
        n = int(both.sum())
        out[cls] = float((p.pred_a[both] == p.pred_b[both]).mean() * 100) if n else None
    return out
