"""Bootstrap intervals of every run (the released sample runs, and a synthetic set shaped like all
28 released runs, ~37,000 predictions), 10,000 resamples each, percentile: ours (Rust, counts
resampling) against scipy.stats.bootstrap (vectorized) on the same job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from common import SHARED_DATA, Result, best_time, peak_mb

B = 10_000
#: scipy's batch in the timed peer run; its default (all resamples at once) needs gigabytes.
PEER_BATCH = 1000

#: The 28 released runs: every dataset once, plus the extra Twitter I subsets and the
#: text-only / video-only runs of the multimodal datasets.
EXTRA_RUNS: list[tuple[str, int]] = [
    ("twitter1", 882),
    ("twitter1", 1116),
    ("cmumosi", 686),
    ("cmumosi", 686),
    ("chsims", 457),
    ("mer_multi", 411),
    ("mer_multi", 411),
]

Job = tuple[np.ndarray, np.ndarray, int, str, None]


def synthetic_jobs(seed: int = 0) -> list[Job]:
    from ger_replay.protocol import datasets
    from ger_replay.score.scoring import METRIC_KEY

    rng = np.random.default_rng(seed)
    runs = [(key, ds.test_samples) for key, ds in datasets.DATASETS.items()] + EXTRA_RUNS
    jobs: list[Job] = []
    for key, n in runs:
        ds = datasets.get(key)
        c = 2 if str(ds.binary) != "none" else len(ds.labels)
        t = rng.integers(0, c, n)
        right = rng.uniform(0.3, 0.95)
        r = rng.random(n)
        p = np.where(r < right, t, np.where(r < right + 0.01, -1, rng.integers(0, c, n)))
        jobs.append((t.astype(np.int64), p.astype(np.int64), c, METRIC_KEY[ds.metric], None))
    return jobs


def released_jobs(results_dir: Path) -> list[Job]:
    from ger_replay.io import load as sources
    from ger_replay.score.scoring import METRIC_KEY, code_run

    df = sources.load([results_dir]).table
    jobs: list[Job] = []
    for part in df.partition_by("run", maintain_order=True):
        c = code_run(part)
        t, p = c.select("skip")
        jobs.append((t, p, len(c.classes), METRIC_KEY[c.dataset.metric], None))
    return jobs


def all_jobs() -> list[Job]:
    jobs = synthetic_jobs()
    if SHARED_DATA.is_dir():
        jobs = released_jobs(SHARED_DATA) + jobs
    return jobs


def ours(jobs: list[Job]) -> list[Any]:
    from ger_replay import _core

    settings = _core.BootstrapSettings(n_resamples=B, method="percentile", seed=0)
    return _core.bootstrap_ci_many(jobs, settings)


def _metric(t: np.ndarray, p: np.ndarray, c: int, metric: str) -> np.ndarray:
    """The metric of each row of (..., n) resampled truth/prediction arrays (numpy)."""
    lead = t.shape[:-1]
    t2 = t.reshape(-1, t.shape[-1])
    p2 = p.reshape(-1, p.shape[-1])
    rows = t2.shape[0]
    pc = np.where(p2 < 0, c, p2)
    cell = np.arange(rows)[:, None] * (c * (c + 1)) + t2 * (c + 1) + pc
    cm = np.bincount(cell.ravel(), minlength=rows * c * (c + 1)).reshape(rows, c, c + 1)
    tp = np.einsum("rkk->rk", cm[:, :, :c]).astype(float)
    support = cm.sum(axis=2).astype(float)
    n = support.sum(axis=1)
    if metric in ("acc", "war"):
        return (tp.sum(axis=1) / n).reshape(lead)
    predicted = cm[:, :, :c].sum(axis=1)
    denom = support + predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return ((f1 * support).sum(axis=1) / n).reshape(lead)


def peer(jobs: list[Job], batch: int | None = PEER_BATCH) -> list[tuple[float, float]]:
    """scipy.stats.bootstrap, vectorized: accuracy as the mean of the correctness indicator (its
    fastest form), weighted F1 over paired (truth, prediction) resamples."""
    from scipy import stats

    out = []
    for k, (t, p, c, metric, _) in enumerate(jobs):
        if metric in ("acc", "war"):
            res = stats.bootstrap(
                ((t == p).astype(np.float64),),
                np.mean,
                n_resamples=B,
                method="percentile",
                vectorized=True,
                batch=batch,
                random_state=k,
            )
        else:
            res = stats.bootstrap(
                (t, p),
                lambda a, b, axis=-1, c=c, m=metric: _metric(a, b, c, m),
                paired=True,
                n_resamples=B,
                method="percentile",
                vectorized=True,
                batch=batch,
                random_state=k,
            )
        ci = res.confidence_interval
        out.append((float(ci.low), float(ci.high)))
    return out


def ours_job_setup() -> list[Job]:
    return all_jobs()


def ours_job(jobs: list[Job]) -> None:
    ours(jobs)


def peer_job_setup() -> list[Job]:
    return all_jobs()


def peer_job(jobs: list[Job]) -> None:
    peer(jobs)


def run() -> list[Result]:
    jobs = all_jobs()
    n_pred = sum(len(j[0]) for j in jobs)
    mine = ours(jobs)
    theirs = peer(jobs)
    # the two intervals differ by Monte Carlo error only (largest gap over all runs, fractions)
    gap = max(
        max(abs(m.low - lo), abs(m.high - hi)) for m, (lo, hi) in zip(mine, theirs, strict=True)
    )
    t_ours = best_time(lambda: ours(jobs), repeat=7)
    t_peer = best_time(lambda: peer(jobs), repeat=1)
    return [
        Result(
            name=f"bootstrap {len(jobs)} runs, {n_pred} predictions, B={B}",
            ours_s=t_ours,
            peer="scipy.stats.bootstrap (vectorized)",
            peer_s=t_peer,
            ours_mb=peak_mb("bench_bootstrap", "ours_job"),
            peer_mb=peak_mb("bench_bootstrap", "peer_job"),
            note=(
                f"percentile; endpoints agree with scipy within {gap * 100:.2f} pts; "
                f"scipy batch={PEER_BATCH}; ours under 100 ms: {t_ours < 0.1}"
            ),
        )
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
