"""Scoring runs of the predictions table by PROTOCOL.md part 3, with the Rust metrics kernel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from ger_replay import _core
from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.rulesets import Fate, Pick, RuleSpec
from ger_replay.protocol.rulesets import get as get_rules
from ger_replay.score import stream, table
from ger_replay.score.baselines import METRIC_KEY
from ger_replay.score.baselines import baselines as baseline_values
from ger_replay.score.rules import Rules, UnknownLabel
from ger_replay.score.stream import ScoreResult

Missing = Literal["skip", "wrong"]


@dataclass
class Coded:
    """One run as integer codes over the dataset's score classes."""

    run: str
    dataset: datasets.Dataset
    classes: tuple[str, ...]
    sample_id: list[str]
    truth: np.ndarray  # int64 codes of the scorable samples (sentiment score 0 left out)
    pred: np.ndarray  # int64 codes, -1 for no usable prediction
    answered: np.ndarray  # bool: a usable prediction exists
    status: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def select(self, missing: Missing) -> tuple[np.ndarray, np.ndarray]:
        if missing == "skip":
            return self.truth[self.answered], self.pred[self.answered]
        return self.truth, self.pred


def code_run(run_df: pl.DataFrame, extra_synonyms: list[tuple[str, str]] | None = None) -> Coded:
    """Codes one run's rows. Raises InputError for an unknown dataset or ground truth."""
    run = run_df.item(0, "run")
    key = run_df.item(0, "dataset")
    try:
        ds = datasets.get(key)
    except datasets.UnknownDataset as e:
        raise InputError(f"run {run}: {e}") from None
    rules = Rules(ds, extra_synonyms)
    # Map each distinct value once, then the whole column at once.
    truth_code: dict[str, int] = {}
    for gt in run_df.get_column("gt").unique().to_list():
        try:
            t = rules.truth(gt)
        except UnknownLabel as e:
            sid = run_df.filter(pl.col("gt") == gt).item(0, "sample_id")
            raise InputError(f"run {run}, sample {sid}: {e}") from None
        truth_code[gt] = -2 if t is None else rules.code(t)
    pred_code: dict[str, int] = {}
    for p in run_df.get_column("pred").drop_nulls().unique().to_list():
        cand = rules.space.canonical(p)
        if cand is None:
            sid = run_df.filter(pl.col("pred") == p).item(0, "sample_id")
            raise InputError(
                f"run {run}, sample {sid}: prediction {p!r} is not a candidate of {ds.key}"
            )
        pred_code[p] = rules.code(rules.binarize(cand))
    coded = run_df.select(
        "sample_id",
        "status",
        pl.col("gt").replace_strict(truth_code, return_dtype=pl.Int64).alias("t"),
        pl.when(pl.col("status") == table.OK)
        .then(pl.col("pred").replace_strict(pred_code, default=-1, return_dtype=pl.Int64))
        .otherwise(-1)
        .fill_null(-1)
        .alias("p"),
    ).filter(pl.col("t") >= 0)
    pred_arr = coded.get_column("p").to_numpy().astype(np.int64, copy=False)
    meta = {k: run_df.item(0, k) for k in table.RUN_COLUMNS if k in run_df.columns}
    return Coded(
        run=run,
        dataset=ds,
        classes=rules.classes,
        sample_id=coded.get_column("sample_id").to_list(),
        truth=coded.get_column("t").to_numpy().astype(np.int64, copy=False),
        pred=pred_arr,
        answered=pred_arr >= 0,
        status=coded.get_column("status").to_list(),
        meta=meta,
    )


def matched_indices(a: list[str], b: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positions in `a` and in `b` of the sample ids both hold, in the order of `a`."""
    pos_b = {s: i for i, s in enumerate(b)}
    ia, ib = [], []
    for i, s in enumerate(a):
        j = pos_b.get(s)
        if j is not None:
            ia.append(i)
            ib.append(j)
    return np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)


def baselines(
    truth: np.ndarray, n_classes: int, dataset: datasets.Dataset, seed: int = 0
) -> tuple[float, float]:
    """(majority, random) baselines of PROTOCOL.md part 2 in the dataset's metric, in percent,
    on the full labelled test set: `ger_replay.score.baselines`, from the class counts."""
    return baseline_values(np.bincount(truth, minlength=n_classes), dataset)


def score_coded(c: Coded, missing: Missing = "skip") -> dict[str, Any]:
    ds = c.dataset
    n_classes = len(c.classes)
    t, p = c.select(missing)
    out: dict[str, Any] = {
        "run": c.run,
        "dataset": ds.key,
        "task": str(ds.task),
        "metric": ds.metric,
        "value": None,
        "n_scored": len(t),
        "n_total": len(c.truth),
        "coverage": (float(c.answered.mean()) * 100) if len(c.truth) else None,
        "missing": missing,
    }
    if len(t):
        m = _core.compute_metrics(t, p, n_classes)
        out["value"] = m[METRIC_KEY[ds.metric]] * 100
        out["acc"] = m["acc"] * 100
        out["uar"] = m["uar"] * 100
        out["waf"] = m["waf"] * 100
        out["macro_f1"] = m["macro_f1"] * 100
        out["per_class"] = {
            cls: (None if r != r else r * 100)
            for cls, r in zip(c.classes, m["recall"], strict=True)
        }
    else:
        out["per_class"] = dict.fromkeys(c.classes)
    if len(c.truth):
        out["majority"], out["random"] = baselines(c.truth, n_classes, ds)
    else:
        out["majority"] = out["random"] = None
    counts: dict[str, int] = {}
    for s in c.status:
        counts[s] = counts.get(s, 0) + 1
    out["status_counts"] = {s: counts[s] for s in table.STATUSES if s in counts}
    out["ci_low"] = None
    out["ci_high"] = None
    for k in ("model", "template", "frames", "color", "modality", "repeat"):
        out[k] = c.meta.get(k)
    return out


def rule_spec(missing: Missing) -> RuleSpec:
    """The rule set of `--missing`: `skip` is the lenient rule set; `wrong` picks the same
    label and scores every labelled sample, counting a sample without a candidate wrong."""
    if missing == "skip":
        return get_rules("lenient")
    return RuleSpec("lenient", Pick.FIRST_CANDIDATE, Fate.WRONG, Fate.WRONG, Fate.WRONG)


def score_table(
    df: pl.DataFrame,
    missing: Missing = "skip",
    extra_synonyms: list[tuple[str, str]] | None = None,
) -> ScoreResult:
    """Scores every run of a predictions table; a run that fails is reported, the rest scored.
    The streaming scorer (`ger_replay.score.stream`) over the table in memory."""
    return stream.score_frame(df, rule_spec(missing), extra_synonyms, {"missing": missing})


def coded_runs(df: pl.DataFrame) -> list[Coded]:
    return [code_run(r) for r in df.partition_by("run", maintain_order=True)]


__all__ = [
    "Coded",
    "Missing",
    "ScoreResult",
    "baselines",
    "code_run",
    "coded_runs",
    "score_coded",
    "score_table",
]
