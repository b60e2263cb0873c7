"""Stability over repeated runs of one setting (the paper's SFEW 2.0 ten runs, Figure 3).

For each sample: the label most runs gave (its *modal* label) and how many runs gave it (the
agreement, 1..R; 0 when no run answered). Over the set: the histogram of the agreement, every
run's metric with its interval, best minus worst, Fleiss' kappa across the runs, the samples that
flip most, and a majority-vote run written like any other run.

Votes are over the candidate labels the runs predicted under the rule set (paper and strict: the
first label of the ranking, if it is a candidate; lenient: the first candidate); a run that gave
no usable answer for a sample casts no vote for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ger_replay.analysis import runsets
from ger_replay.errors import InputError
from ger_replay.io import table
from ger_replay.protocol import datasets
from ger_replay.protocol.labels import LabelSpace
from ger_replay.protocol.rules import Rules
from ger_replay.score import rulesets as apply_rules
from ger_replay.score.scoring import RuleSet

MAJORITY_SOURCE = "majority-vote"


@dataclass
class Stability:
    """Every figure of the stability analysis, each a polars DataFrame."""

    dataset: str
    runs: list[str]
    #: sample_id, gt, modal, agreement, n_answered, n_labels, n_correct
    per_sample: pl.DataFrame
    #: agreement, n_samples, percent (the paper's Figure 3a)
    histogram: pl.DataFrame
    #: one row per run, as `runsets.score_runs` (Figure 3b), the majority-vote run last
    per_run: pl.DataFrame
    #: one row: n_runs, n_samples, n_dropped, mean, std, best, worst, spread, majority_vote,
    #: fleiss_kappa, kappa_samples, fully_stable
    summary: pl.DataFrame
    #: the majority-vote run as predictions-table rows
    majority: pl.DataFrame

    def flips(self, n: int = 20) -> pl.DataFrame:
        """The `n` samples whose runs disagree most (lowest agreement, most distinct labels)."""
        return (
            self.per_sample.filter(pl.col("n_answered") > 0)
            .sort(["agreement", "n_labels", "sample_id"], descending=[False, True, False])
            .head(n)
        )


def check_repeats(df: pl.DataFrame) -> str:
    """The dataset of a set of repeated runs; an InputError where it is not one."""
    runs = table.runs(df)
    if len(runs) < 2:
        got = f"only {runs[0]}" if runs else "none"
        raise InputError(f"stability needs two or more runs of one dataset and setting; got {got}")
    return runsets.one_setting(df, "stability")


def aligned(df: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Rows of the samples every run holds, and how many samples some run lacked."""
    n_runs = df.get_column("run").n_unique()
    per = df.group_by("sample_id").agg(pl.col("run").n_unique().alias("k"))
    keep = per.filter(pl.col("k") == n_runs).get_column("sample_id")
    dropped = per.height - keep.len()
    return df.filter(pl.col("sample_id").is_in(keep.implode())), dropped


def _votes(df: pl.DataFrame) -> pl.DataFrame:
    """sample_id, label, votes: one row per label some run predicted."""
    return (
        df.filter((pl.col("status") == table.OK) & pl.col("pred").is_not_null())
        .group_by("sample_id", "pred")
        .agg(pl.len().alias("votes"))
        .rename({"pred": "label"})
    )


def _mean_ranks(df: pl.DataFrame, space: LabelSpace) -> pl.DataFrame:
    """sample_id, label, mean_rank over the runs that ranked the sample (0 = first); a label a
    run left out of its ranking counts as ranked after all candidates."""
    n_cand = len(space.candidates)
    ranked = df.select(
        "sample_id",
        "run",
        pl.when(pl.col("ranking").list.len() > 0)
        .then(pl.col("ranking"))
        .when(pl.col("pred").is_not_null())
        .then(pl.concat_list(pl.col("pred")))
        .alias("ranking"),
    ).filter(pl.col("ranking").is_not_null())
    n_ranked = ranked.group_by("sample_id").agg(pl.col("run").n_unique().alias("n_ranked"))
    long = ranked.with_columns(pl.int_ranges(0, pl.col("ranking").list.len()).alias("pos")).explode(
        "ranking", "pos"
    )
    raw = long.get_column("ranking").drop_nulls().unique().to_list()
    canon = {k: v for k, v in zip(raw, space.canonical_many(raw), strict=True) if v is not None}
    long = (
        long.with_columns(
            pl.col("ranking").replace_strict(canon, default=None, return_dtype=pl.String)
        )
        .filter(pl.col("ranking").is_not_null())
        # A label listed twice in one ranking counts at its first place.
        .group_by("sample_id", "run", "ranking")
        .agg(pl.col("pos").min())
    )
    sums = long.group_by("sample_id", "ranking").agg(
        pl.col("pos").sum().alias("pos_sum"), pl.len().alias("n_listed")
    )
    return (
        sums.join(n_ranked, on="sample_id")
        .with_columns(
            (
                (pl.col("pos_sum") + (pl.col("n_ranked") - pl.col("n_listed")) * n_cand)
                / pl.col("n_ranked")
            ).alias("mean_rank")
        )
        .select("sample_id", pl.col("ranking").alias("label"), "mean_rank")
    )


def _by_rules(rows: pl.DataFrame, ds: datasets.Dataset, rules: RuleSet | str) -> pl.DataFrame:
    """`rows` with `pred` replaced by the label the rule set reads off each answer (paper and
    strict: the first label, if it is a candidate; lenient: the first candidate)."""
    space = LabelSpace(ds.labels)
    return rows.with_columns(apply_rules.picked_label(rows, space, rules).alias("pred"))


def majority_vote(
    df: pl.DataFrame, run_name: str | None = None, rules: RuleSet | str = "paper"
) -> pl.DataFrame:
    """The majority-vote run over repeated runs, as predictions-table rows that score like any
    other run. Each sample's ranking puts labels by votes (most first), ties broken by the mean
    rank across the runs' rankings, then by the order of the candidates; a sample no run answered
    is `unanswered`."""
    key = check_repeats(df)
    ds = datasets.get(key)
    space = LabelSpace(ds.labels)
    rows, _ = aligned(df)
    rows = _by_rules(rows, ds, rules)
    runs = table.runs(rows)
    order = {c: i for i, c in enumerate(ds.labels)}
    scored = (
        _mean_ranks(rows, space)
        .join(_votes(rows), on=["sample_id", "label"], how="full", coalesce=True)
        .with_columns(
            pl.col("votes").fill_null(0),
            pl.col("mean_rank").fill_null(float(len(ds.labels))),
            pl.col("label").replace_strict(order, default=len(order)).alias("cand_order"),
        )
        .sort(
            ["sample_id", "votes", "mean_rank", "cand_order"],
            descending=[False, True, False, False],
        )
        .group_by("sample_id", maintain_order=True)
        .agg(pl.col("label").alias("ranking"), pl.col("votes").first().alias("top_votes"))
    )
    base = rows.filter(pl.col("run") == runs[0]).select("sample_id", "gt")
    out = base.join(scored, on="sample_id", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("top_votes") > 0).then(pl.col("ranking")).alias("ranking")
    )
    out = out.with_columns(
        pl.col("ranking").list.first().alias("pred"),
        pl.when(pl.col("ranking").is_null())
        .then(pl.lit(table.UNANSWERED))
        .otherwise(pl.lit(table.OK))
        .alias("status"),
        pl.lit([], dtype=pl.List(pl.String)).alias("invented"),
        pl.lit(None, dtype=pl.Int32).alias("attempts"),
    ).drop("top_votes")
    first = rows.filter(pl.col("run") == runs[0]).row(0, named=True)
    meta = {k: first.get(k) for k in table.RUN_COLUMNS}
    meta["run"] = run_name or f"{_common_prefix(runs)}majority-of-{len(runs)}"
    meta["repeat"] = None
    meta["source"] = MAJORITY_SOURCE
    return table.with_meta(out, meta)


def _common_prefix(runs: list[str]) -> str:
    """The folder part the runs share ("sfew2/" for "sfew2/r0" and "sfew2/r1"), or ""."""
    heads = {r.rsplit("/", 1)[0] + "/" if "/" in r else "" for r in runs}
    return heads.pop() if len(heads) == 1 else ""


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa of an items x categories matrix of rating counts, each row summing to the
    same number of raters (two or more)."""
    counts = np.asarray(counts, dtype=np.float64)
    n_items = counts.shape[0]
    raters = counts.sum(axis=1)
    if n_items == 0 or raters.min() != raters.max() or raters[0] < 2:
        raise ValueError("Fleiss' kappa needs items rated by the same number (>= 2) of raters")
    n = raters[0]
    p_j = counts.sum(axis=0) / (n_items * n)
    p_i = (np.square(counts).sum(axis=1) - n) / (n * (n - 1))
    p_bar = p_i.mean()
    p_e = float(np.square(p_j).sum())
    if p_e == 1.0:
        return 1.0 if p_bar == 1.0 else float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def _kappa(rows: pl.DataFrame, n_runs: int, labels: tuple[str, ...]) -> tuple[float | None, int]:
    votes = _votes(rows)
    full = (
        votes.group_by("sample_id")
        .agg(pl.col("votes").sum().alias("n"))
        .filter(pl.col("n") == n_runs)
        .get_column("sample_id")
    )
    if full.len() == 0:
        return None, 0
    wide = (
        votes.filter(pl.col("sample_id").is_in(full.implode()))
        .pivot(on="label", index="sample_id", values="votes")
        .fill_null(0)
    )
    cols = [c for c in labels if c in wide.columns]
    k = fleiss_kappa(wide.select(cols).to_numpy())
    return (None if k != k else k), wide.height


def stability(
    df: pl.DataFrame, rules: RuleSet | str = "paper", ci: bool = True, seed: int = 0
) -> Stability:
    """The stability analysis of repeated runs of one dataset and setting."""
    key = check_repeats(df)
    ds = datasets.get(key)
    rows, dropped = aligned(df)
    if rows.height == 0:
        raise InputError("stability: the runs share no samples")
    runs = table.runs(rows)
    rows = _by_rules(rows, ds, rules)
    votes = _votes(rows)
    modal = (
        votes.with_columns(
            pl.col("label")
            .replace_strict({c: i for i, c in enumerate(ds.labels)}, default=len(ds.labels))
            .alias("o")
        )
        .sort(["sample_id", "votes", "o"], descending=[False, True, False])
        .group_by("sample_id", maintain_order=True)
        .agg(
            pl.col("label").first().alias("modal"),
            pl.col("votes").first().alias("agreement"),
            pl.col("votes").sum().alias("n_answered"),
            pl.len().alias("n_labels"),
        )
    )
    correct = _n_correct(rows, Rules(ds))
    base = rows.filter(pl.col("run") == runs[0]).select("sample_id", "gt")
    per_sample = (
        base.join(modal, on="sample_id", how="left", maintain_order="left")
        .join(correct, on="sample_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("agreement").fill_null(0).cast(pl.Int64),
            pl.col("n_answered").fill_null(0).cast(pl.Int64),
            pl.col("n_labels").fill_null(0).cast(pl.Int64),
        )
    )
    n_runs = len(runs)
    hist = (
        pl.DataFrame({"agreement": list(range(n_runs + 1))}, schema={"agreement": pl.Int64})
        .join(
            per_sample.group_by("agreement").agg(pl.len().cast(pl.Int64).alias("n_samples")),
            on="agreement",
            how="left",
        )
        .with_columns(pl.col("n_samples").fill_null(0))
        .with_columns((pl.col("n_samples") / per_sample.height * 100).alias("percent"))
        .sort("agreement")
    )
    maj = majority_vote(df, rules=rules)
    per_run = runsets.score_runs(
        pl.concat([rows, maj], how="diagonal_relaxed"), rules, ci, seed=seed
    )
    vals = per_run.filter(pl.col("source").fill_null("") != MAJORITY_SOURCE).get_column("value")
    arr = vals.to_numpy().astype(np.float64)
    kappa, kappa_n = _kappa(rows, n_runs, ds.labels)
    summary = pl.DataFrame(
        [
            {
                "dataset": key,
                "metric": ds.metric,
                "n_runs": n_runs,
                "n_samples": per_sample.height,
                "n_dropped": dropped,
                "mean": float(arr.mean()),
                "std": float(arr.std(ddof=1)),
                "best": float(arr.max()),
                "worst": float(arr.min()),
                "spread": float(arr.max() - arr.min()),
                "majority_vote": per_run.get_column("value")[-1],
                "fleiss_kappa": kappa,
                "kappa_samples": kappa_n,
                "fully_stable": float(
                    (per_sample.get_column("agreement") == n_runs).mean() * 100  # type: ignore[operator]
                ),
            }
        ]
    )
    return Stability(key, runs, per_sample, hist, per_run, summary, maj)


def _n_correct(rows: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """sample_id, n_correct: runs whose prediction falls in the truth's score class (null for a
    sample left out of scoring)."""
    truth: dict[str, str | None] = {}
    for g in rows.get_column("gt").drop_nulls().unique().to_list():
        try:
            truth[g] = rules.truth(g)
        except ValueError as e:
            raise InputError(str(e)) from None
    preds = rows.get_column("pred").drop_nulls().unique().to_list()
    cls = {}
    for p in preds:
        cand = rules.space.canonical(p)
        if cand is not None:
            cls[p] = rules.binarize(cand)
    return (
        rows.with_columns(
            pl.col("gt").replace_strict(truth, default=None, return_dtype=pl.String).alias("tc"),
            pl.when(pl.col("status") == table.OK)
            .then(pl.col("pred").replace_strict(cls, default=None, return_dtype=pl.String))
            .alias("pc"),
        )
        .group_by("sample_id")
        .agg(
            pl.when(pl.col("tc").first().is_null())
            .then(None)
            .otherwise((pl.col("pc") == pl.col("tc")).fill_null(False).sum())
            .cast(pl.Int64)
            .alias("n_correct")
        )
    )
