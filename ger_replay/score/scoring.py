"""Scoring runs of the predictions table by PROTOCOL.md part 3 (the rule sets of
`ger_replay.protocol.rulesets`), with the Rust metrics kernel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

import ger_replay._core as _core
from ger_replay.errors import InputError
from ger_replay.io import table
from ger_replay.protocol import datasets, rulesets
from ger_replay.protocol.rules import Rules, UnknownLabel
from ger_replay.protocol.rulesets import RuleSet
from ger_replay.score import baselines as counts_baselines
from ger_replay.score import rulesets as apply_rules
from ger_replay.score import stream
from ger_replay.score.baselines import METRIC_KEY, reference_columns
from ger_replay.score.flags import PARTIAL_BELOW, flagged, flags, run_flags
from ger_replay.score.stream import ScoreResult


@dataclass
class Coded:
    """One run as integer codes over the dataset's score classes, under one rule set."""

    run: str
    dataset: datasets.Dataset
    classes: tuple[str, ...]
    sample_id: list[str]
    truth: np.ndarray  # int64 codes of the labelled samples (sentiment score 0 left out)
    pred: np.ndarray  # int64 codes under the rule set, -1 for no usable prediction
    answered: np.ndarray  # bool: a usable prediction exists under the rule set
    status: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    #: bool: the sample counts in the metric under the rule set (default: the answered ones)
    scored: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    rules: RuleSet = rulesets.DEFAULT

    def __post_init__(self) -> None:
        if len(self.scored) == 0 and len(self.truth):
            self.scored = np.asarray(self.answered, dtype=bool)

    def select(self) -> tuple[np.ndarray, np.ndarray]:
        """Truth and prediction of the samples the rule set scores."""
        return self.truth[self.scored], self.pred[self.scored]


def code_run(
    run_df: pl.DataFrame,
    extra_synonyms: list[tuple[str, str]] | None = None,
    rules: RuleSet | str = rulesets.DEFAULT,
) -> Coded:
    """Codes one run's rows under a rule set. Raises InputError for an unknown dataset or
    ground truth."""
    run = run_df.item(0, "run")
    key = run_df.item(0, "dataset")
    try:
        ds = datasets.get(key)
    except datasets.UnknownDataset as e:
        raise InputError(f"run {run}: {e}") from None
    rule_set = rulesets.get(rules).name
    lab = Rules(ds, extra_synonyms)
    # Map each distinct value once, then the whole column at once.
    truth_code: dict[str, int] = {}
    for gt in run_df.get_column("gt").unique().to_list():
        try:
            t = lab.truth(gt)
        except UnknownLabel as e:
            sid = run_df.filter(pl.col("gt") == gt).item(0, "sample_id")
            raise InputError(f"run {run}, sample {sid}: {e}") from None
        truth_code[gt] = -2 if t is None else lab.code(t)
    pred_code: dict[str, int] = {}
    for p in run_df.get_column("pred").drop_nulls().unique().to_list():
        cand = lab.space.canonical(p)
        if cand is None:
            sid = run_df.filter(pl.col("pred") == p).item(0, "sample_id")
            raise InputError(
                f"run {run}, sample {sid}: prediction {p!r} is not a candidate of {ds.key}"
            )
        pred_code[p] = lab.code(lab.binarize(cand))
    # The first label of each ranking (the prediction where no ranking was kept), folded.
    first_label = pl.coalesce(pl.col("ranking").list.first(), pl.col("pred"))
    firsts = run_df.select(first_label.alias("f")).get_column("f").drop_nulls().unique().to_list()
    first_code: dict[str, int] = {}
    for f, cand in zip(firsts, lab.space.canonical_many(firsts), strict=True):
        if cand is not None:
            first_code[f] = lab.code(lab.binarize(cand))
    coded = (
        run_df.select(
            "sample_id",
            "status",
            pl.col("gt").replace_strict(truth_code, return_dtype=pl.Int64).alias("t"),
            first_label.replace_strict(first_code, default=None, return_dtype=pl.Int64).alias(
                "first"
            ),
            pl.col("pred")
            .replace_strict(pred_code, default=None, return_dtype=pl.Int64)
            .alias("cand"),
            apply_rules.answered().alias("answered"),
            pl.lit(str(ds.task)).alias("task"),
        )
        .filter(pl.col("t") >= 0)
        .pipe(apply_rules.apply, rule_set)
    )
    pred_arr = coded.get_column("pred_code").to_numpy().astype(np.int64, copy=False)
    meta = {k: run_df.item(0, k) for k in table.RUN_COLUMNS if k in run_df.columns}
    meta["synthetic"] = "synthetic" in run_df.columns and bool(run_df.get_column("synthetic").any())
    return Coded(
        run=run,
        dataset=ds,
        classes=lab.classes,
        sample_id=coded.get_column("sample_id").to_list(),
        truth=coded.get_column("t").to_numpy().astype(np.int64, copy=False),
        pred=pred_arr,
        answered=pred_arr >= 0,
        status=coded.get_column("status").to_list(),
        meta=meta,
        scored=coded.get_column("scored").to_numpy().astype(bool, copy=False),
        rules=rule_set,
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


def majority_baseline(truth: np.ndarray, n_classes: int, dataset: datasets.Dataset) -> float:
    """Predicting the most frequent test label (ties to the first class) for every sample, in
    the dataset's metric, in percent (`ger_replay.score.baselines.majority`)."""
    return counts_baselines.majority(np.bincount(truth, minlength=n_classes), dataset)


def random_seed(truth: np.ndarray, dataset: datasets.Dataset) -> int:
    """A seed drawn from the test set alone (`ger_replay.score.baselines.random_seed`)."""
    return counts_baselines.random_seed(np.bincount(truth), dataset)


def random_baseline(truth: np.ndarray, n_classes: int, dataset: datasets.Dataset) -> float:
    """A uniform guess over the candidate labels, in the dataset's metric, in percent
    (`ger_replay.score.baselines.random`: from the class counts, so it depends on the test set
    alone, not on its order or a run)."""
    return counts_baselines.random(np.bincount(truth, minlength=n_classes), dataset)


def baselines(truth: np.ndarray, n_classes: int, dataset: datasets.Dataset) -> tuple[float, float]:
    """(majority, random) baselines of PROTOCOL.md part 2 in the dataset's metric, in percent,
    on the full labelled test set, from its class counts (`ger_replay.score.baselines`)."""
    return counts_baselines.baselines(np.bincount(truth, minlength=n_classes), dataset)


def score_coded(c: Coded) -> dict[str, Any]:
    ds = c.dataset
    n_classes = len(c.classes)
    t, p = c.select()
    out: dict[str, Any] = {
        "run": c.run,
        "dataset": ds.key,
        "task": str(ds.task),
        "metric": ds.metric,
        "value": None,
        "n_scored": len(t),
        "n_total": len(c.truth),
        "coverage": (float(c.answered.mean()) * 100) if len(c.truth) else None,
        "rules": str(c.rules),
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
    out.update(reference_columns({**c.meta, "run": c.run, "dataset": ds.key}, out["value"]))
    counts: dict[str, int] = {}
    for s in c.status:
        counts[s] = counts.get(s, 0) + 1
    out["status_counts"] = {s: counts[s] for s in table.STATUSES if s in counts}
    out["ci_low"] = None
    out["ci_high"] = None
    for k in ("model", "template", "frames", "color", "modality", "repeat"):
        out[k] = c.meta.get(k)
    counts: dict[str, int] = {}
    for s in c.status:
        counts[s] = counts.get(s, 0) + 1
    out.update(flags(counts, c.meta.get("synthetic")))
    return out


def score_table(
    df: pl.DataFrame,
    rules: RuleSet | str = rulesets.DEFAULT,
    extra_synonyms: list[tuple[str, str]] | None = None,
) -> ScoreResult:
    """Scores every run of a predictions table under a rule set; a run that fails is reported,
    the rest scored. The streaming scorer (`ger_replay.score.stream`) over the table in memory:
    the same values as `score_coded(code_run(...))` of each run, to the last bit."""
    return stream.score_frame(df, rules, extra_synonyms)


def scores_frame(df: pl.DataFrame, rules: RuleSet | str = rulesets.DEFAULT) -> pl.DataFrame:
    """The public `ger_replay.score_table`: one row per run as a polars DataFrame (run, dataset,
    metric, value, n_scored, n_total, coverage, baselines, settings, partial, synthetic, ...);
    raises the first error when a run cannot be scored."""
    result = score_table(df, rules)
    if result.errors:
        raise result.errors[0]
    flat = [{k: v for k, v in r.items() if not isinstance(v, dict)} for r in result.rows]
    return pl.DataFrame(flat, infer_schema_length=None)


def coded_runs(df: pl.DataFrame, rules: RuleSet | str = rulesets.DEFAULT) -> list[Coded]:
    return [code_run(r, rules=rules) for r in df.partition_by("run", maintain_order=True)]


__all__ = [
    "PARTIAL_BELOW",
    "Coded",
    "RuleSet",
    "ScoreResult",
    "baselines",
    "code_run",
    "coded_runs",
    "flagged",
    "flags",
    "run_flags",
    "score_coded",
    "score_table",
    "scores_frame",
]
