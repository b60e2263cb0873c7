"""The one paired comparison of two runs on the same samples: the samples matched by id
(`pair`), then the difference of the metric with its bootstrap interval, a two-sided bootstrap
p-value and, for accuracy, the exact McNemar test (`paired_diff`). `compare` and the robustness
analysis both go through it; the resamples and the seed come from the caller's options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import ger_replay._core as _core
from ger_replay.errors import InputError
from ger_replay.score.scoring import Coded, matched_indices


@dataclass(frozen=True)
class BootstrapOptions:
    """How intervals are drawn: resamples, confidence level, method, seed, threads."""

    n_resamples: int = 10000
    confidence: float = 0.95
    method: str = "percentile"
    seed: int = 0
    threads: int | None = None


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
    #: the rule set both runs were coded under
    rules: str
    #: scorable samples of each run before pairing
    n_a: int
    n_b: int


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


def paired_diff(p: PairedSamples, metric: str, opts: BootstrapOptions) -> dict[str, Any]:
    """metric(b) - metric(a) on the paired samples, with its interval (values in percent)."""
    n_resamples, confidence, method, seed = (
        opts.n_resamples,
        opts.confidence,
        opts.method,
        opts.seed,
    )
    # Codes go straight to the core: the classes are the dataset's, whatever the samples hold.
    settings = _core.BootstrapSettings(n_resamples, confidence, method, seed, threads=opts.threads)
    r = _core.bootstrap_diff(p.truth, p.pred_a, p.pred_b, len(p.classes), metric, None, settings)
    correct_a = p.pred_a == p.truth
    correct_b = p.pred_b == p.truth
    return {
        "value_a": r.estimate_a * 100,
        "value_b": r.estimate_b * 100,
        "diff": r.diff * 100,
        "ci_low": r.low * 100,
        "ci_high": r.high * 100,
        "confidence": confidence,
        "ci_method": method,
        "p_value": r.p_value,
        "mcnemar_p": r.mcnemar_p,
        "both_correct": int((correct_a & correct_b).sum()),
        "only_a": r.only_a,
        "only_b": r.only_b,
        "neither": int((~correct_a & ~correct_b).sum()),
        "bootstrap": n_resamples,
        "seed": seed,
    }
