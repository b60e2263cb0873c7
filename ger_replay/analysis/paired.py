"""Paired comparison of two runs on the same samples (RGB vs gray, 2 vs 3 frames, text vs fusion,
template 1 vs 2): the difference of the metric, its bootstrap interval, a two-sided bootstrap
p-value and, for accuracy, the exact McNemar test.

Further sections (per-class agreement, say) plug in with `register_section`: each takes the
`PairedSamples` and returns a dict that `compare_runs` adds to its result under the given name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ger_replay import _core
from ger_replay.errors import GerReplayError, InputError
from ger_replay.protocol.rulesets import describe
from ger_replay.score import table
from ger_replay.score.scoring import METRIC_KEY, Coded, RuleSet, code_run, matched_indices
from ger_replay.stats.bootstrap import METRICS


@dataclass
class PairedSamples:
    """Two coded runs restricted to the samples both can be scored on, in the same order."""

    run_a: str
    run_b: str
    dataset: str
    classes: tuple[str, ...]
    sample_id: list[str]
    truth: np.ndarray
    pred_a: np.ndarray
    pred_b: np.ndarray
    rules: str
    #: scorable samples of each run before pairing
    n_a: int
    n_b: int


Section = Callable[[PairedSamples], dict[str, Any]]
_SECTIONS: dict[str, Section] = {}


def register_section(name: str, fn: Section) -> None:
    """Adds `name: fn(paired)` to every comparison's result."""
    _SECTIONS[name] = fn


def pair(a: Coded, b: Coded) -> PairedSamples:
    """The samples of two runs of one dataset, matched by sample id: those both runs' rule set
    scores (under `strict`, every shared sample; a missing answer counts as wrong)."""
    if a.dataset.key != b.dataset.key or a.classes != b.classes:
        raise InputError(
            f"runs {a.run} ({a.dataset.key}) and {b.run} ({b.dataset.key}) are not on the same "
            "dataset: a paired comparison needs the same samples"
        )
    idx_a, idx_b = matched_indices(a.sample_id, b.sample_id)
    clash = np.flatnonzero(a.truth[idx_a] != b.truth[idx_b])
    if len(clash):
        sid = a.sample_id[int(idx_a[clash[0]])]
        raise InputError(
            f"runs {a.run} and {b.run} disagree on the ground truth of sample {sid} "
            f"({len(clash)} sample(s) in all)"
        )
    if a.rules != b.rules:
        raise InputError(f"runs {a.run} and {b.run} were coded under different rule sets")
    keep = a.scored[idx_a] & b.scored[idx_b]
    idx_a, idx_b = idx_a[keep], idx_b[keep]
    if len(idx_a) == 0:
        raise InputError(f"runs {a.run} and {b.run} share no scorable sample")
    n_a = int(a.scored.sum())
    n_b = int(b.scored.sum())
    return PairedSamples(
        run_a=a.run,
        run_b=b.run,
        dataset=a.dataset.key,
        classes=a.classes,
        sample_id=[a.sample_id[int(i)] for i in idx_a],
        truth=a.truth[idx_a],
        pred_a=a.pred[idx_a],
        pred_b=b.pred[idx_b],
        rules=str(a.rules),
        n_a=n_a,
        n_b=n_b,
    )


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
    d = _diff(p, m, n_resamples, confidence, method, seed, threads)
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
    for name, fn in _SECTIONS.items():
        out[name] = fn(p)
    return out


def _diff(
    p: PairedSamples,
    metric: str,
    n_resamples: int,
    confidence: float,
    method: str,
    seed: int,
    threads: int | None,
) -> dict[str, Any]:
    # Codes go straight to the core: the classes are the dataset's, whatever the samples hold.
    r = _core.bootstrap_diff(
        p.truth,
        p.pred_a,
        p.pred_b,
        len(p.classes),
        metric,
        n_resamples,
        confidence,
        method,
        seed,
        None,
        threads=threads,
    )
    correct_a = p.pred_a == p.truth
    correct_b = p.pred_b == p.truth
    return {
        "value_a": r["estimate_a"] * 100,
        "value_b": r["estimate_b"] * 100,
        "diff": r["diff"] * 100,
        "ci_low": r["low"] * 100,
        "ci_high": r["high"] * 100,
        "confidence": confidence,
        "ci_method": method,
        "p_value": r["p_value"],
        "mcnemar_p": r["mcnemar_p"],
        "both_correct": int((correct_a & correct_b).sum()),
        "only_a": int(r["only_a"]),
        "only_b": int(r["only_b"]),
        "neither": int((~correct_a & ~correct_b).sum()),
        "bootstrap": n_resamples,
        "seed": seed,
    }


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


def load_pair(
    paths: Sequence[str | Path],
    run_a: str | None = None,
    run_b: str | None = None,
    rules: RuleSet | str = "paper",
) -> tuple[Coded, Coded, list[GerReplayError]]:
    """The two runs to compare: named ones from everything under `paths`, or, without names,
    the single run each of exactly two paths holds. Also returns the errors of what could not
    be read."""
    from ger_replay.score import sources

    if (run_a is None) != (run_b is None):
        raise InputError("give both --run-a and --run-b, or neither")
    if run_a is not None and run_b is not None:
        loaded = sources.load(paths)
        a, b = select_runs(loaded.table, run_a, run_b, rules)
        return a, b, list(loaded.errors)
    if len(paths) != 2:
        raise InputError(
            f"expected two paths of one run each, got {len(paths)}; "
            "or name the runs with --run-a and --run-b"
        )
    errors: list[GerReplayError] = []
    coded = []
    for path in paths:
        loaded = sources.load([path])
        errors.extend(loaded.errors)
        coded.append(only_run(loaded.table, str(path), rules))
    return coded[0], coded[1], errors


def _section_text(value: Any) -> str:
    """A section's result on one line: `key value` pairs for a flat dict of numbers."""
    if isinstance(value, dict) and all(isinstance(v, int | float | None) for v in value.values()):
        return ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in value.items())
    return json.dumps(value, default=str)


FIELDS: Sequence[tuple[str, str]] = (
    ("runs", "run_a"),
    ("dataset", "dataset"),
    ("metric", "metric"),
    ("paired samples", "n_paired"),
    ("a", "value_a"),
    ("b", "value_b"),
    ("b - a", "diff"),
    ("interval", "ci"),
    ("bootstrap p", "p_value"),
    ("McNemar p", "mcnemar_p"),
    ("only a correct", "only_a"),
    ("only b correct", "only_b"),
)


def _fmt(v: Any, p: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if p else f"{v:.2f}"
    return str(v)


def render(result: dict[str, Any], fmt: str = "table") -> str:
    """A comparison as an aligned text block or JSON."""
    if fmt == "json":
        return json.dumps(result, indent=2, default=str)
    conf = result.get("confidence", 0.95)
    lines = []
    for label, key in FIELDS:
        if key == "run_a":
            v = f"a = {result['run_a']}, b = {result['run_b']}"
        elif key == "ci":
            v = f"[{_fmt(result['ci_low'])}, {_fmt(result['ci_high'])}] ({conf * 100:g}%)"
        else:
            v = _fmt(result.get(key), p=key.endswith("_p") or key == "p_value")
        lines.append(f"{label:>15}  {v}")
    for name in _SECTIONS:
        lines.append(f"{name.replace('_', ' '):>15}  {_section_text(result.get(name))}")
    if result.get("rules"):
        lines.append(describe(result["rules"]))
    return "\n".join(lines)


__all__ = [
    "PairedSamples",
    "compare_runs",
    "load_pair",
    "only_run",
    "pair",
    "register_section",
    "render",
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


# Per-class agreement of the two runs (the paper's Figure 5), from the consistency analysis.
from ger_replay.analysis.consistency import paired_agreement  # noqa: E402

register_section("per_class_agreement", paired_agreement)
