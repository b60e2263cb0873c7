"""The value sets of a tally coded for one dataset: each distinct (gt, status, pred, first)
becomes a truth class, a prediction under the rule set and whether it is scored.

Coding happens once per distinct value and per distinct value set, never per prediction: a
leaderboard of millions of predictions holds a few hundred distinct sets. The rule set is
applied by the same polars expressions as everywhere (`ger_replay.score.rulesets`), to a table
of the sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ger_replay.protocol import datasets
from ger_replay.protocol.rules import Rules, UnknownLabel
from ger_replay.protocol.rulesets import RuleSpec
from ger_replay.score import rulesets

#: Truth code of a sample left out (a sentiment score of 0).
LEFT_OUT = -2
#: Code of a value that is an error (not a label of the dataset).
BAD = -3
GT, STATUS, PRED, FIRST = range(4)


@dataclass
class CodedSets:
    """Per value set (rows of `sets`): the truth class (`LEFT_OUT`, `BAD`), the prediction under
    the rule set (-1: none) and whether it is scored."""

    truth: np.ndarray
    pred: np.ndarray
    scored: np.ndarray
    #: value code -> message, for the gt and pred values that are errors
    bad_gt: dict[int, str]
    bad_pred: dict[int, str]


def _truth_codes(
    lab: Rules, values: list[str | None], used: np.ndarray
) -> tuple[np.ndarray, dict[int, str]]:
    out = np.full(len(values), BAD, dtype=np.int64)
    bad: dict[int, str] = {}
    for i in used.tolist():
        try:
            t = lab.truth(values[i])  # type: ignore[arg-type]
        except UnknownLabel as e:
            bad[i] = str(e)
            continue
        out[i] = LEFT_OUT if t is None else lab.code(t)
    return out, bad


def _pred_codes(
    ds: datasets.Dataset, lab: Rules, values: list[str | None], used: np.ndarray
) -> tuple[np.ndarray, dict[int, str]]:
    out = np.full(len(values), -1, dtype=np.int64)
    bad: dict[int, str] = {}
    for i in used.tolist():
        p = values[i]
        if p is None:
            continue
        cand = lab.space.canonical(p)
        if cand is None:
            bad[i] = f"prediction {p!r} is not a candidate of {ds.key}"
        else:
            out[i] = lab.code(lab.binarize(cand))
    return out, bad


def _first_codes(lab: Rules, values: list[str | None], used: np.ndarray) -> np.ndarray:
    out = np.full(len(values), -1, dtype=np.int64)
    idx = [i for i in used.tolist() if values[i] is not None]
    firsts = [values[i] for i in idx]
    for i, cand in zip(idx, lab.space.canonical_many(firsts), strict=True):  # type: ignore[arg-type]
        if cand is not None:
            out[i] = lab.code(lab.binarize(cand))
    return out


def code_sets(
    ds: datasets.Dataset,
    lab: Rules,
    values: list[list[str | None]],
    sets: np.ndarray,
    used: np.ndarray,
    spec: RuleSpec,
) -> CodedSets:
    """Codes the value sets `used` (row numbers of `sets`) for one dataset under a rule set; the
    other rows are left as they come (not to be read)."""
    u = sets[used]
    truth, bad_gt = _truth_codes(lab, values[GT], np.unique(u[:, GT]))
    cand, bad_pred = _pred_codes(ds, lab, values[PRED], np.unique(u[:, PRED]))
    first = _first_codes(lab, values[FIRST], np.unique(u[:, FIRST]))
    status = values[STATUS]
    answered = np.array([s in rulesets.ANSWERED for s in status], dtype=bool)
    frame = pl.DataFrame(
        {
            "first": first[u[:, FIRST]],
            "cand": cand[u[:, PRED]],
            "answered": answered[u[:, STATUS]],
            "task": [str(ds.task)] * len(used),
        }
    ).with_columns(pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in ("first", "cand"))
    # -1 (no candidate, or an error) is null to the rule set's expressions
    ruled = rulesets.apply(frame, spec.name)
    n = len(sets)
    out = CodedSets(
        truth=np.full(n, BAD, dtype=np.int64),
        pred=np.full(n, -1, dtype=np.int64),
        scored=np.zeros(n, dtype=bool),
        bad_gt=bad_gt,
        bad_pred=bad_pred,
    )
    out.truth[used] = truth[u[:, GT]]
    out.pred[used] = ruled.get_column("pred_code").to_numpy()
    out.scored[used] = ruled.get_column("scored").to_numpy()
    return out


__all__ = ["BAD", "LEFT_OUT", "CodedSets", "code_sets"]
