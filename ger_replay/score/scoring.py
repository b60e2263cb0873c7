"""Scoring runs of the predictions table by PROTOCOL.md part 3, with the Rust metrics kernel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

import ger_replay._core as _core
from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import table
from ger_replay.protocol import datasets
from ger_replay.protocol.rules import Rules, UnknownLabel

Missing = Literal["skip", "wrong"]
MISSING_RULES: tuple[Missing, ...] = ("skip", "wrong")


def check_missing(value: str) -> Missing:
    """`value` as a rule for unanswered samples, or a `ValueError`."""
    for rule in MISSING_RULES:
        if value == rule:
            return rule
    raise ValueError(f"unknown rule for missing answers {value!r}: expected skip or wrong")


METRIC_KEY = {"ACC": "acc", "WAR": "war", "WAF": "waf"}
BASELINE_RUNS = 10

#: A run is *partial* when fewer than this share of its test samples got an answer from the
#: model (any status but `unanswered`: a refusal is an answer, a batch never sent is not). Partial
#: runs are flagged in every output and left out of summaries (stability, the report's counts).
PARTIAL_BELOW = 0.9


def run_flags(df: pl.DataFrame) -> pl.DataFrame:
    """One row per run: n_total, n_answered, answered (% of the samples the model answered),
    partial (answered below `PARTIAL_BELOW`) and synthetic (run.json says so: the demo runs)."""
    synthetic = (
        pl.col("synthetic").fill_null(False).any() if "synthetic" in df.columns else pl.lit(False)
    )
    return (
        df.group_by("run", maintain_order=True)
        .agg(
            pl.len().alias("n_total"),
            (pl.col("status") != table.UNANSWERED).sum().alias("n_answered"),
            synthetic.alias("synthetic"),
        )
        .with_columns((pl.col("n_answered") * 100 / pl.col("n_total")).alias("answered"))
        .with_columns((pl.col("answered") < PARTIAL_BELOW * 100).alias("partial"))
    )


def flagged(df: pl.DataFrame, flag: str) -> set[str]:
    """The runs of `df` with `flag` ("partial" or "synthetic") set."""
    if df.height == 0:
        return set()
    return set(run_flags(df).filter(pl.col(flag)).get_column("run").to_list())


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
    meta["synthetic"] = "synthetic" in run_df.columns and bool(run_df.get_column("synthetic").any())
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
    on the full labelled test set, each the mean of 10 runs. Random draws uniformly over the
    candidate labels (then binarized where the dataset is binary); majority predicts the most
    frequent test label (ties to the first class)."""
    mkey = METRIC_KEY[dataset.metric]
    counts = np.bincount(truth, minlength=n_classes)
    majority_pred = np.full_like(truth, int(np.argmax(counts)))
    majority = _core.compute_metrics(truth, majority_pred, n_classes)[mkey] * 100
    rules = Rules(dataset)
    cand_codes = np.asarray([rules.code(rules.binarize(c)) for c in dataset.labels], dtype=np.int64)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(BASELINE_RUNS):
        guess = cand_codes[rng.integers(0, len(cand_codes), size=len(truth))]
        vals.append(_core.compute_metrics(truth, guess, n_classes)[mkey] * 100)
    return float(majority), float(np.mean(vals))


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
    out["status_counts"] = counts
    out["ci_low"] = None
    out["ci_high"] = None
    for k in ("model", "template", "frames", "color", "modality", "repeat"):
        out[k] = c.meta.get(k)
    n_answered = sum(1 for s in c.status if s != table.UNANSWERED)
    out["answered"] = n_answered * 100 / len(c.status) if c.status else None
    out["partial"] = bool(c.status) and n_answered < PARTIAL_BELOW * len(c.status)
    out["synthetic"] = bool(c.meta.get("synthetic"))
    return out


@dataclass
class ScoreResult:
    rows: list[dict[str, Any]]
    errors: list[GerReplayError]


def score_table(
    df: pl.DataFrame,
    missing: Missing = "skip",
    extra_synonyms: list[tuple[str, str]] | None = None,
) -> ScoreResult:
    """Scores every run of a predictions table; a run that fails is reported, the rest scored."""
    rows, errors = [], []
    for run_df in df.partition_by("run", maintain_order=True):
        try:
            c = code_run(run_df, extra_synonyms)
            if len(c.truth) == 0:
                raise InputError(f"run {c.run}: no scorable samples")
            rows.append(score_coded(c, missing))
        except GerReplayError as e:
            errors.append(e)
    return ScoreResult(rows, errors)


def scores_frame(df: pl.DataFrame, missing: Missing = "skip") -> pl.DataFrame:
    """The public `ger_replay.score_table`: one row per run as a polars DataFrame (run, dataset,
    metric, value, n_scored, n_total, coverage, baselines, settings, partial, synthetic, ...);
    raises the first error when a run cannot be scored."""
    result = score_table(df, missing)
    if result.errors:
        raise result.errors[0]
    flat = [{k: v for k, v in r.items() if not isinstance(v, dict)} for r in result.rows]
    return pl.DataFrame(flat, infer_schema_length=None)


def coded_runs(df: pl.DataFrame) -> list[Coded]:
    return [code_run(r) for r in df.partition_by("run", maintain_order=True)]


__all__ = [
    "PARTIAL_BELOW",
    "Coded",
    "Missing",
    "ScoreResult",
    "baselines",
    "code_run",
    "coded_runs",
    "flagged",
    "run_flags",
    "score_coded",
    "score_table",
    "scores_frame",
]
