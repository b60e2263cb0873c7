"""Grouping the runs of a predictions table by setting, and scoring runs with intervals.

A run's *setting* is what it was asked under: model, template, frames, color and modality. Runs
of one dataset that share every setting are repeats (stability); runs that share all but one are
a robustness set over that one factor (template, color, frames, modality: the paper's Table 9).
Twitter I's agreement subsets (5, 4 and 3 of 5 annotators) are different test sets, so the subset
is part of what a run is evaluated on, not a repeat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ger_replay.errors import InputError, some_names
from ger_replay.protocol import datasets
from ger_replay.score import stream
from ger_replay.score.scoring import RuleSet
from ger_replay.stats.bootstrap import add_count_intervals

#: The columns that make a run's setting (besides the dataset it ran on).
SETTING_COLUMNS: tuple[str, ...] = ("model", "template", "frames", "color", "modality")
#: Factors a robustness set can vary.
FACTORS: tuple[str, ...] = ("template", "color", "frames", "modality")

_SUBSET_WORDS = {"five": "5 agree", "four": "4 agree", "three": "3 agree"}
_WORD = re.compile(r"[a-z0-9]+")


def subset_of(run: str, dataset: str) -> str:
    """The test subset a run is scored on: Twitter I's agreement subsets, else ""."""
    if dataset != "twitter1":
        return ""
    words = set(_WORD.findall(run.lower()))
    for word, label in _SUBSET_WORDS.items():
        if word in words:
            return label
    return ""


def column_label(dataset: str, subset: str) -> str:
    """The heading of a dataset (and subset) in a table: "Twitter I (5 agree)"."""
    name = datasets.get(dataset).name
    if subset:
        name = name.split(" (")[0]
        return f"{name} ({subset})"
    return name


def run_info(df: pl.DataFrame) -> pl.DataFrame:
    """One row per run: run, dataset, subset, task, the setting columns, repeat, source, samples."""
    if df.height == 0:
        raise InputError("no runs to analyse (the predictions table is empty)")
    info = (
        df.group_by("run", maintain_order=True)
        .agg(
            pl.col("dataset").first(),
            *[pl.col(c).first() for c in (*SETTING_COLUMNS, "repeat", "source")],
            pl.len().alias("n_samples"),
        )
        .with_columns(
            pl.struct("run", "dataset")
            .map_elements(lambda s: subset_of(s["run"], s["dataset"]), return_dtype=pl.String)
            .alias("subset"),
            pl.col("dataset").map_elements(_task_of, return_dtype=pl.String).alias("task"),
        )
    )
    return info.select(
        "run", "dataset", "subset", "task", *SETTING_COLUMNS, "repeat", "source", "n_samples"
    )


def _task_of(key: str) -> str:
    try:
        return str(datasets.get(key).task)
    except datasets.UnknownDataset:
        return ""


def setting_label(row: dict[str, Any], vary: Sequence[str] = SETTING_COLUMNS) -> str:
    """A short human name of a run's setting, e.g. "gpt-4-vision-preview, gray, 2 frames"."""
    parts = []
    for c in vary:
        v = row.get(c)
        if v is None:
            continue
        if c == "template":
            parts.append(f"template {v}")
        elif c == "frames":
            parts.append(f"{v} frames")
        elif c == "modality":
            parts.append(str(v))
        else:
            parts.append(str(v))
    return ", ".join(parts) if parts else "default"


def setting_groups(df: pl.DataFrame) -> list[list[str]]:
    """The runs grouped by dataset, subset and setting (a group of one included)."""
    info = run_info(df)
    keys = ["dataset", "subset", *SETTING_COLUMNS]
    groups = info.group_by(keys, maintain_order=True).agg(pl.col("run"))
    return [list(g["run"]) for g in groups.iter_rows(named=True)]


def repeat_sets(df: pl.DataFrame) -> list[list[str]]:
    """Runs of one dataset, subset and setting, two or more of them: sets for `stability`."""
    return [g for g in setting_groups(df) if len(g) >= 2]


def differences(df: pl.DataFrame) -> list[str]:
    """What the runs of `df` differ in, one entry per column: "color: a gray, b rgb"."""
    info = run_info(df)
    out = []
    for col in ("dataset", "subset", *SETTING_COLUMNS):
        if info.get_column(col).n_unique() > 1:
            vals = ", ".join(f"{r['run']} {_level(r[col])}" for r in info.iter_rows(named=True))
            out.append(f"{col}: {vals}")
    return out


def one_setting(df: pl.DataFrame, what: str) -> str:
    """The one dataset all runs share when they also share one setting (model, template,
    frames, color, modality); else an InputError naming every difference."""
    key = one_dataset(df, what)
    diff = differences(df)
    if diff:
        raise InputError(
            f"{what} needs runs of one dataset and setting; they differ in " + "; ".join(diff)
        )
    return key


@dataclass(frozen=True)
class FactorSet:
    """Runs of one dataset whose settings differ in one factor only."""

    factor: str
    dataset: str
    subset: str
    fixed: dict[str, Any]
    #: (level, run) in the order of first appearance
    levels: list[tuple[str, str]]


def factor_sets(df: pl.DataFrame, factors: Sequence[str] = FACTORS) -> list[FactorSet]:
    """Every set of runs (one per repeat index) that varies exactly one factor."""
    info = run_info(df)
    out: list[FactorSet] = []
    for factor in factors:
        if factor not in SETTING_COLUMNS:
            raise InputError(f"unknown factor {factor!r}; one of {', '.join(FACTORS)}")
        fixed_cols = [c for c in SETTING_COLUMNS if c != factor]
        keys = ["dataset", "subset", "repeat", *fixed_cols]
        grouped = info.group_by(keys, maintain_order=True).agg(pl.col("run"), pl.col(factor))
        for g in grouped.iter_rows(named=True):
            levels = [_level(v) for v in g[factor]]
            if len(set(levels)) < 2 or len(set(levels)) != len(levels):
                continue
            out.append(
                FactorSet(
                    factor=factor,
                    dataset=g["dataset"],
                    subset=g["subset"],
                    fixed={c: g[c] for c in fixed_cols},
                    levels=list(zip(levels, g["run"], strict=True)),
                )
            )
    return out


def _level(v: Any) -> str:
    return "-" if v is None else str(v)


def select_runs(df: pl.DataFrame, runs: Sequence[str]) -> pl.DataFrame:
    """The rows of the named runs, in the order given."""
    names = df.get_column("run").unique(maintain_order=True).to_list()
    missing = [r for r in runs if r not in set(names)]
    if missing:
        raise InputError(
            f"no run named {', '.join(missing)} in the input; its runs: {some_names(names)}"
        )
    return pl.concat([df.filter(pl.col("run") == r) for r in runs])


def one_dataset(df: pl.DataFrame, what: str) -> str:
    """The one dataset (and subset) all runs share, or an InputError naming the mix."""
    info = run_info(df)
    pairs = info.select("dataset", "subset").unique(maintain_order=True)
    if pairs.height != 1:
        mix = some_names(
            [
                f"{r['run']} ({column_label_safe(r['dataset'], r['subset'])})"
                for r in info.iter_rows(named=True)
            ]
        )
        raise InputError(f"{what} needs runs of one dataset; got {mix}")
    return str(pairs.item(0, "dataset"))


def column_label_safe(dataset: str, subset: str) -> str:
    try:
        return column_label(dataset, subset)
    except datasets.UnknownDataset:
        return dataset


# --- scores with intervals ----------------------------------------------------------------------


def score_runs(
    df: pl.DataFrame,
    rules: RuleSet | str = "paper",
    ci: bool = True,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per run: its setting, metric value, interval, coverage and baselines. Scored in
    one pass (`stream.score_frame`), the intervals from each run's confusion counts: the values
    and intervals of scoring each run on its own, bit for bit, without a query per run. The
    first run that cannot be scored raises its error."""
    info = {r["run"]: r for r in run_info(df).iter_rows(named=True)}
    res = stream.score_frame(df, rules)
    if res.errors:
        raise res.errors[0]
    if ci:
        add_count_intervals(res.rows, res.confusion, n_resamples, seed=seed)
    keys = [k for k in SCORE_SCHEMA if k not in _FROM_INFO]
    rows = []
    for s in res.rows:
        meta = info[s["run"]]
        rows.append(
            {
                **{k: s[k] for k in keys},
                **{k: meta[k] for k in ("subset", *SETTING_COLUMNS, "repeat", "source")},
                "column": column_label(s["dataset"], meta["subset"]),
            }
        )
    return pl.DataFrame(rows, schema=SCORE_SCHEMA)


#: The columns of `score_runs` that come from the run's first row, not its score row.
_FROM_INFO = ("subset", "column", *SETTING_COLUMNS, "repeat", "source")


SCORE_SCHEMA: dict[str, Any] = {
    "run": pl.String,
    "dataset": pl.String,
    "subset": pl.String,
    "column": pl.String,
    "task": pl.String,
    "model": pl.String,
    "template": pl.String,
    "frames": pl.Int32,
    "color": pl.String,
    "modality": pl.String,
    "repeat": pl.Int32,
    "source": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_scored": pl.Int64,
    "n_total": pl.Int64,
    "coverage": pl.Float64,
    "majority": pl.Float64,
    "random": pl.Float64,
    #: the paper's GPT-4V value for the run's setting, ours minus it, the paper's baselines
    "paper": pl.Float64,
    "delta": pl.Float64,
    "paper_random": pl.Float64,
    "paper_majority": pl.Float64,
    "rules": pl.String,
    "answered": pl.Float64,
    "partial": pl.Boolean,
    "synthetic": pl.Boolean,
}
