"""Paired comparison of two runs on the same samples (RGB vs gray, 2 vs 3 frames, text vs fusion,
template 1 vs 2): the difference of the metric, its bootstrap interval, a two-sided bootstrap
p-value and, for accuracy, the exact McNemar test.

The matching and the bootstrap are `ger_replay.stats.paired`'s. Further sections (per-class
agreement) are listed in `SECTIONS`: each takes the `PairedSamples` and returns a dict that
`compare_runs` adds to its result under its name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from ger_replay.analysis.consistency import paired_agreement
from ger_replay.errors import InputError
from ger_replay.io import table
from ger_replay.score.scoring import METRIC_KEY, Coded, RuleSet, code_run
from ger_replay.stats.bootstrap import METRICS
from ger_replay.stats.paired import BootstrapOptions, PairedSamples, pair, paired_diff

Section = Callable[[PairedSamples], dict[str, Any]]
#: The sections every comparison adds, in order: per-class agreement of the two runs (the
#: paper's Figure 5, from the consistency analysis).
SECTIONS: dict[str, Section] = {"per_class_agreement": paired_agreement}


def register_section(name: str, fn: Section) -> None:
    """Adds `name: fn(paired)` to every comparison's result."""
    SECTIONS[name] = fn


def compare_runs(
    a: Coded,
    b: Coded,
    metric: str | None = None,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    method: str = "percentile",
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """The paired comparison of b against a as a flat dict (values in percent); metric defaults
    to the dataset's."""
    p = pair(a, b)
    m = metric or METRIC_KEY[a.dataset.metric]
    if m not in METRICS:
        raise InputError(f"unknown metric {m!r}: expected one of {', '.join(METRICS)}")
    d = paired_diff(p, m, BootstrapOptions(n_resamples, confidence, method, seed, threads))
    out: dict[str, Any] = {
        "run_a": p.run_a,
        "run_b": p.run_b,
        "dataset": p.dataset,
        "metric": m,
        "rules": p.rules,
        "n_paired": len(p.truth),
        "n_a": p.n_a,
        "n_b": p.n_b,
        **d,
    }
    for name, fn in SECTIONS.items():
        out[name] = fn(p)
    return out


def select_runs(
    df: pl.DataFrame, run_a: str, run_b: str, rules: RuleSet | str = "paper"
) -> tuple[Coded, Coded]:
    """The two named runs of a predictions table, coded under the rule set."""
    names = table.runs(df)
    for r in (run_a, run_b):
        if r not in names:
            raise InputError(f"no run named {r!r}; runs: {', '.join(names) or 'none'}")
    return (
        code_run(df.filter(pl.col("run") == run_a), rules=rules),
        code_run(df.filter(pl.col("run") == run_b), rules=rules),
    )


def only_run(df: pl.DataFrame, where: str, rules: RuleSet | str = "paper") -> Coded:
    """The single run of a predictions table (what one path of `compare A B` must hold)."""
    names = table.runs(df)
    if len(names) != 1:
        raise InputError(
            f"holds {len(names)} runs ({', '.join(names[:5]) or 'none'}); "
            "name the two to compare with --run-a and --run-b",
            where,
        )
    return code_run(df, rules=rules)


def holds_many_runs(df: pl.DataFrame) -> bool:
    """Whether a predictions table holds more than two runs (then `compare` shows sets)."""
    return df.height > 0 and df.get_column("run").n_unique() > 2


__all__ = [
    "PairedSamples",
    "compare_runs",
    "only_run",
    "pair",
    "register_section",
    "select_runs",
    "to_frame",
]


def to_frame(results: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Comparisons as a table, one row each (scalar fields only)."""
    rows = [
        {k: v for k, v in r.items() if v is None or isinstance(v, str | int | float | bool)}
        for r in results
    ]
    return pl.DataFrame(rows, infer_schema_length=None)
