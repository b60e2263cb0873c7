"""Bootstrap confidence intervals and paired comparisons, computed by the Rust core.

Resampling n (truth, prediction) pairs with replacement gives confusion counts that follow a
multinomial distribution, so the core draws the counts directly (O(cells) per resample, exact).
A seed gives the same interval bit for bit on any machine and any number of threads
(`threads=`, or the environment variable GER_REPLAY_THREADS). Values are in percent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

import ger_replay._core as _core
from ger_replay.score.scoring import METRIC_KEY, Coded, RuleSet

Metric = Literal["acc", "war", "uar", "waf", "macro_f1"]
Method = Literal["percentile", "bca"]
METRICS: tuple[str, ...] = ("acc", "war", "uar", "waf", "macro_f1")
METHODS: tuple[str, ...] = ("percentile", "bca")
Labels = Sequence[Any] | npt.NDArray[Any]
Codes = npt.NDArray[np.int64]


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _int_codes(values: Labels) -> Codes | None:
    """Integer codes if the labels are integers (None = missing, as -1), else None."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return None
    if arr.dtype == object:
        items = arr.tolist()
        if all(
            _is_missing(v) or (isinstance(v, int | np.integer) and not isinstance(v, bool))
            for v in items
        ):
            return np.asarray([-1 if _is_missing(v) else int(v) for v in items], dtype=np.int64)
    return None


def encode(y_true: Labels, *preds: Labels) -> tuple[Codes, list[Codes], int, tuple[str, ...]]:
    """Codes truth and predictions jointly: (truth, [pred, ...], n_classes, class names).

    Integer labels are taken as codes (negative or None: no prediction). Other labels are coded
    as strings over the sorted union of truth and prediction labels; None, NaN and -1 in a
    prediction mean no prediction (counted as wrong)."""
    t_int = _int_codes(y_true)
    p_int = [_int_codes(p) for p in preds]
    if t_int is not None and all(p is not None for p in p_int):
        pcs = [p for p in p_int if p is not None]
        if len(t_int) and int(t_int.min()) < 0:
            i = int(np.argmax(t_int < 0))
            raise ValueError(f"y_true[{i}] = {int(t_int[i])}: the truth must be a class code >= 0")
        top = max([int(t_int.max()) if len(t_int) else -1] + [int(p.max()) for p in pcs if len(p)])
        n = top + 1
        return t_int, pcs, max(n, 1), tuple(str(i) for i in range(max(n, 1)))
    truth = list(np.asarray(y_true, dtype=object).tolist())
    for i, v in enumerate(truth):
        if _is_missing(v):
            raise ValueError(f"y_true[{i}] is missing: every sample needs a true label")
    pred_lists = [list(np.asarray(p, dtype=object).tolist()) for p in preds]

    def none(v: Any) -> bool:
        return _is_missing(v) or (isinstance(v, int | np.integer) and int(v) == -1)

    classes = sorted(
        {str(v) for v in truth} | {str(v) for p in pred_lists for v in p if not none(v)}
    )
    index = {c: i for i, c in enumerate(classes)}
    t = np.fromiter((index[str(v)] for v in truth), dtype=np.int64, count=len(truth))
    codes = [
        np.fromiter((-1 if none(v) else index[str(v)] for v in p), dtype=np.int64, count=len(p))
        for p in pred_lists
    ]
    return t, codes, max(len(classes), 1), tuple(classes)


def _group_codes(groups: Labels | None, n: int) -> Codes | None:
    if groups is None:
        return None
    arr = np.asarray(groups)
    if arr.dtype.kind in "iu":
        g = arr.astype(np.int64, copy=False)
    else:
        _, inverse = np.unique(arr.astype(str), return_inverse=True)
        g = inverse.astype(np.int64)
    if len(g) != n:
        raise ValueError(f"groups has {len(g)} entries but there are {n} samples")
    return g


def _check(metric: str, method: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {', '.join(METRICS)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: expected percentile or bca")


def bootstrap_ci(
    y_true: Labels,
    y_pred: Labels,
    metric: Metric | str = "acc",
    n_resamples: int = 10000,
    confidence: float = 0.95,
    method: Method | str = "percentile",
    seed: int = 0,
    groups: Labels | None = None,
    *,
    threads: int | None = None,
) -> tuple[float, float]:
    """(low, high) bootstrap confidence interval of the metric, in percent.

    `groups` (a subject id per sample) resamples whole groups (cluster bootstrap)."""
    _check(metric, method)
    t, (p,), n_classes, _ = encode(y_true, y_pred)
    s = _core.BootstrapSettings(n_resamples, confidence, method, seed, threads=threads)
    r = _core.bootstrap_ci(t, p, n_classes, metric, _group_codes(groups, len(t)), s)
    return float(r.low) * 100, float(r.high) * 100


def bootstrap_distribution(
    y_true: Labels,
    y_pred: Labels,
    metric: Metric | str = "acc",
    n_resamples: int = 10000,
    seed: int = 0,
    groups: Labels | None = None,
    *,
    sampler: str = "auto",
    threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """The metric on each bootstrap resample, in percent (resample order)."""
    _check(metric, "percentile")
    t, (p,), n_classes, _ = encode(y_true, y_pred)
    s = _core.BootstrapSettings(n_resamples, seed=seed, sampler=sampler, threads=threads)
    d = _core.bootstrap_distribution(t, p, n_classes, metric, _group_codes(groups, len(t)), s)
    return d * 100


@dataclass(frozen=True)
class DiffResult:
    """Paired comparison of two runs on the same samples; values in percent."""

    #: metric of b minus metric of a
    diff: float
    low: float
    high: float
    #: two-sided bootstrap p-value of no difference: (1 + 2 min(#d* <= 0, #d* >= 0)) / (B + 1)
    p_value: float
    #: exact McNemar p-value (accuracy and WAR, ungrouped samples); None otherwise
    mcnemar_p: float | None
    metric: str
    value_a: float
    value_b: float
    n: int
    #: samples where only a (only b) is correct
    only_a: int
    only_b: int
    confidence: float
    method: str
    n_resamples: int
    seed: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def bootstrap_diff(
    y_true: Labels,
    pred_a: Labels,
    pred_b: Labels,
    metric: Metric | str = "acc",
    n_resamples: int = 10000,
    confidence: float = 0.95,
    method: Method | str = "percentile",
    seed: int = 0,
    groups: Labels | None = None,
    *,
    threads: int | None = None,
) -> DiffResult:
    """Paired bootstrap of metric(b) - metric(a), resampling the joint outcome of each sample."""
    _check(metric, method)
    t, (a, b), n_classes, _ = encode(y_true, pred_a, pred_b)
    s = _core.BootstrapSettings(n_resamples, confidence, method, seed, threads=threads)
    r = _core.bootstrap_diff(t, a, b, n_classes, metric, _group_codes(groups, len(t)), s)
    return DiffResult(
        diff=r.diff * 100,
        low=r.low * 100,
        high=r.high * 100,
        p_value=r.p_value,
        mcnemar_p=r.mcnemar_p,
        metric=metric,
        value_a=r.estimate_a * 100,
        value_b=r.estimate_b * 100,
        n=r.n_units if groups is None else len(t),
        only_a=r.only_a,
        only_b=r.only_b,
        confidence=confidence,
        method=method,
        n_resamples=n_resamples,
        seed=seed,
    )


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the two discordant counts."""
    return float(_core.mcnemar_exact(only_a, only_b))


def add_intervals(
    rows: Iterable[dict[str, Any]],
    coded_runs: Iterable[Coded],
    n_resamples: int = 10000,
    confidence: float = 0.95,
    method: Method | str = "percentile",
    seed: int = 0,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Fills `ci_low`, `ci_high` (percent), `confidence` and `ci_method` of each score row from
    the coded run of the same name, in the row's metric. Every run uses the same seed, so a run's
    interval does not depend on which other runs are scored beside it. Rows are changed in place
    and returned."""
    _check("acc", method)
    rows = list(rows)
    by_run: Mapping[str, Coded] = {c.run: c for c in coded_runs}
    todo: list[tuple[dict[str, Any], tuple[Any, ...]]] = []
    for row in rows:
        c = by_run.get(row["run"])
        if c is None:
            continue
        t, p = c.select()
        if len(t) == 0:
            continue
        metric = METRIC_KEY[c.dataset.metric]
        todo.append((row, (t, p, len(c.classes), metric, None)))
    if todo:
        s = _core.BootstrapSettings(n_resamples, confidence, method, seed, threads=threads)
        results = _core.bootstrap_ci_many([job for _, job in todo], s)
        _fill([row for row, _ in todo], results)
    return _stamp(rows, n_resamples, confidence, method, seed)


def add_count_intervals(
    rows: Iterable[dict[str, Any]],
    confusion: Mapping[str, npt.NDArray[np.uint64]],
    n_resamples: int = 10000,
    confidence: float = 0.95,
    method: Method | str = "percentile",
    seed: int = 0,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """`add_intervals` from each run's confusion counts (`ScoreResult.confusion` of the
    streaming scorer) rather than its samples: ungrouped samples resample by their cell, so the
    interval is the same, bit for bit, and the samples are never held in memory. One Rust call
    for all runs, in parallel."""
    _check("acc", method)
    rows = list(rows)
    todo: list[tuple[dict[str, Any], npt.NDArray[np.uint64], str]] = []
    for row in rows:
        cm = confusion.get(row["run"])
        if cm is None or row.get("value") is None or int(cm.sum()) == 0:
            continue
        todo.append((row, np.ascontiguousarray(cm, dtype=np.uint64), METRIC_KEY[row["metric"]]))
    if todo:
        s = _core.BootstrapSettings(n_resamples, confidence, method, seed, threads=threads)
        results = _core.bootstrap_ci_counts_many([(cm, metric) for _, cm, metric in todo], s)
        _fill([row for row, _, _ in todo], results)
    return _stamp(rows, n_resamples, confidence, method, seed)


def _fill(rows: list[dict[str, Any]], results: Iterable[Any]) -> None:
    """Each row's interval endpoints, in percent, from the core's results in the same order."""
    for row, r in zip(rows, results, strict=True):
        row["ci_low"] = r.low * 100
        row["ci_high"] = r.high * 100


def _stamp(
    rows: list[dict[str, Any]], n_resamples: int, confidence: float, method: str, seed: int
) -> list[dict[str, Any]]:
    """Every row names the settings its interval was drawn with (or would have been)."""
    for row in rows:
        row["confidence"] = confidence
        row["ci_method"] = method
        row["bootstrap"] = n_resamples
        row["seed"] = seed
    return rows


def add_table_intervals(
    rows: Iterable[dict[str, Any]],
    df: Any,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    method: Method | str = "percentile",
    seed: int = 0,
    rules: RuleSet | str = "paper",
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """`add_intervals` for score rows of a predictions table (`score_table(df)` rows): codes the
    runs the rows name and fills their intervals."""
    import polars as pl

    from ger_replay.score.scoring import code_run

    rows = list(rows)
    names = {r["run"] for r in rows}
    coded = [
        code_run(part, rules=rules)
        for part in df.filter(pl.col("run").is_in(list(names))).partition_by(
            "run", maintain_order=True
        )
    ]
    return add_intervals(rows, coded, n_resamples, confidence, method, seed, threads)


__all__ = [
    "METHODS",
    "METRICS",
    "DiffResult",
    "add_count_intervals",
    "add_intervals",
    "add_table_intervals",
    "bootstrap_ci",
    "bootstrap_diff",
    "bootstrap_distribution",
    "encode",
    "mcnemar_exact",
]
