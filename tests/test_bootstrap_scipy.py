"""Bootstrap intervals against scipy.stats.bootstrap (percentile and BCa) within Monte Carlo
error, on the released sample runs and on generated data; coverage over simulated data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from ger_replay import _core
from ger_replay.io import load as sources
from ger_replay.score.scoring import METRIC_KEY, code_run
from ger_replay.stats.bootstrap import bootstrap_ci, bootstrap_diff, bootstrap_distribution

B = 5000


def metric_vectorized(t: np.ndarray, p: np.ndarray, n_classes: int, metric: str) -> np.ndarray:
    """The metric of each row of (..., n) truth/prediction arrays (p < 0: no prediction), the
    way scikit-learn defines them; fractions."""
    t2 = np.atleast_2d(t)
    p2 = np.atleast_2d(p)
    t2, p2 = np.broadcast_arrays(t2, p2)
    lead = t2.shape[:-1]
    t2 = t2.reshape(-1, t2.shape[-1]).astype(np.int64)
    p2 = p2.reshape(-1, p2.shape[-1]).astype(np.int64)
    c = n_classes
    rows = t2.shape[0]
    pc = np.where((p2 < 0) | (p2 >= c), c, p2)
    cell = np.arange(rows)[:, None] * (c * (c + 1)) + t2 * (c + 1) + pc
    cm = np.bincount(cell.ravel(), minlength=rows * c * (c + 1)).reshape(rows, c, c + 1)
    n = cm.sum(axis=(1, 2)).astype(float)
    tp = np.einsum("rkk->rk", cm[:, :, :c]).astype(float)
    support = cm.sum(axis=2).astype(float)
    predicted = cm[:, :, :c].sum(axis=1).astype(float)
    if metric in ("acc", "war"):
        out = tp.sum(axis=1) / n
    elif metric == "uar":
        with np.errstate(invalid="ignore", divide="ignore"):
            rec = tp / support
        out = np.nanmean(np.where(support > 0, rec, np.nan), axis=1)
    else:
        denom = support + predicted
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
        if metric == "waf":
            out = (f1 * support).sum(axis=1) / n
        else:
            present = denom > 0
            out = (f1 * present).sum(axis=1) / present.sum(axis=1)
    return out.reshape(lead) if lead else out[0]


def scipy_ci(t, p, n_classes, metric, method, seed=1, n_resamples=B):
    res = stats.bootstrap(
        (t, p),
        lambda a, b, axis=-1: metric_vectorized(a, b, n_classes, metric),
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        method=method,
        batch=500,
        random_state=seed,
    )
    return res.confidence_interval.low, res.confidence_interval.high


def tolerance(t, p, metric: str, method: str) -> float:
    """Allowed gap between two independent bootstrap endpoints (fractions): Monte Carlo error of
    a 2.5% quantile from B resamples, both sides, at 4.5 standard errors, plus the lattice step of
    a statistic of n counts; BCa also carries the error of its bias correction."""
    d = bootstrap_distribution(t, p, metric, n_resamples=B, seed=7) / 100
    sd = float(np.std(d))
    se_q = np.sqrt(0.025 * 0.975 / B) / (0.0584 / sd)
    extra = 0.08 * sd if method == "bca" else 0.0
    return 4.5 * np.sqrt(2) * se_q + extra + 1.5 / len(t)


def released_runs(released_dir: Path):
    df = sources.load([released_dir]).table
    return [code_run(r) for r in df.partition_by("run", maintain_order=True)]


def test_vectorized_metric_matches_the_kernel():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.5, t, rng.integers(-1, 5, 300))
    m = _core.compute_metrics(t, p, 5)
    for metric in ("acc", "uar", "waf", "macro_f1"):
        assert metric_vectorized(t, p, 5, metric) == pytest.approx(m[metric], abs=1e-12)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_released_runs_agree_with_scipy(released_dir: Path, method: str):
    runs = released_runs(released_dir)
    assert len(runs) == 8
    for c in runs:
        t, p = c.select()
        metric = METRIC_KEY[c.dataset.metric]
        lo, hi = bootstrap_ci(t, p, metric, n_resamples=B, method=method, seed=11)
        slo, shi = scipy_ci(t, p, len(c.classes), metric, method)
        tol = tolerance(t, p, metric, method) * 100
        assert abs(lo - slo * 100) < tol, (c.run, method, lo, slo * 100, tol)
        assert abs(hi - shi * 100) < tol, (c.run, method, hi, shi * 100, tol)


@pytest.mark.parametrize(
    ("metric", "n", "classes"),
    [("acc", 700, 7), ("uar", 900, 6), ("waf", 600, 5), ("macro_f1", 1200, 8)],
)
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_generated_data_agrees_with_scipy(metric: str, n: int, classes: int, method: str):
    rng = np.random.default_rng(n + classes)
    prior = rng.dirichlet(np.ones(classes) * 2)
    t = rng.choice(classes, size=n, p=prior)
    r = rng.random(n)
    p = np.where(r < 0.55, t, np.where(r < 0.6, -1, rng.integers(0, classes, n)))
    lo, hi = bootstrap_ci(t, p, metric, n_resamples=B, method=method, seed=5)
    slo, shi = scipy_ci(t, p, classes, metric, method, seed=6)
    tol = tolerance(t, p, metric, method) * 100
    assert abs(lo - slo * 100) < tol, (lo, slo * 100, tol)
    assert abs(hi - shi * 100) < tol, (hi, shi * 100, tol)


def test_skewed_statistic_bca_moves_like_scipy():
    # Accuracy near 100%: the distribution is skewed, BCa shifts the interval; both agree.
    rng = np.random.default_rng(9)
    t = rng.integers(0, 2, 400)
    p = np.where(rng.random(400) < 0.985, t, 1 - t)
    pct = bootstrap_ci(t, p, "acc", n_resamples=B, method="percentile", seed=2)
    bca = bootstrap_ci(t, p, "acc", n_resamples=B, method="bca", seed=2)
    s_bca = scipy_ci(t, p, 2, "acc", "bca", seed=3)
    assert bca != pct
    tol = tolerance(t, p, "acc", "bca") * 100
    assert abs(bca[0] - s_bca[0] * 100) < tol and abs(bca[1] - s_bca[1] * 100) < tol


def test_paired_difference_agrees_with_scipy():
    rng = np.random.default_rng(21)
    n, c = 800, 4
    t = rng.integers(0, c, n)
    a = np.where(rng.random(n) < 0.6, t, rng.integers(0, c, n))
    b = np.where(rng.random(n) < 0.15, t, a)  # b fixes some of a's errors
    for metric in ("acc", "waf"):
        ours = bootstrap_diff(t, a, b, metric, n_resamples=B, seed=4)
        res = stats.bootstrap(
            (t, a, b),
            lambda x, y, z, axis=-1, m=metric: (
                metric_vectorized(x, z, c, m) - metric_vectorized(x, y, c, m)
            ),
            paired=True,
            vectorized=True,
            n_resamples=B,
            method="percentile",
            batch=500,
            random_state=8,
        )
        s = _core.BootstrapSettings(n_resamples=B, seed=4)
        d = _core.bootstrap_diff_distribution(t, a, b, c, metric, settings=s)
        sd = float(np.std(d))
        tol = (4.5 * np.sqrt(2) * np.sqrt(0.025 * 0.975 / B) / (0.0584 / sd) + 1.5 / n) * 100
        assert ours.diff == pytest.approx(
            (metric_vectorized(t, b, c, metric) - metric_vectorized(t, a, c, metric)) * 100
        )
        assert abs(ours.low - res.confidence_interval.low * 100) < tol
        assert abs(ours.high - res.confidence_interval.high * 100) < tol


def test_mcnemar_matches_scipy_binomtest():
    for only_a, only_b in [(3, 12), (40, 25), (0, 7), (120, 160), (1000, 1100)]:
        expected = stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
        assert _core.mcnemar_exact(only_a, only_b) == pytest.approx(expected, rel=1e-9)


def test_coverage_of_the_95_interval():
    """Over many simulated data sets from a known population, the 95% interval covers the
    population value 93-97% of the time (accuracy, percentile; weighted F1, BCa)."""
    rng = np.random.default_rng(2024)
    n_sets, n = 1500, 500
    classes = 4
    # population: a confusion matrix of probabilities
    probs = np.full((classes, classes + 1), 0.01)
    np.fill_diagonal(probs, [0.15, 0.12, 0.2, 0.13])
    probs[:, classes] = 0.02
    probs /= probs.sum()
    scale = 10**9
    pop = _core.metrics_from_confusion(np.round(probs * scale).astype(np.uint64))
    flat = probs.ravel()
    for metric, method in [("acc", "percentile"), ("waf", "bca")]:
        jobs = []
        for _ in range(n_sets):
            cells = rng.choice(flat.size, size=n, p=flat)
            t = cells // (classes + 1)
            p = cells % (classes + 1)
            p = np.where(p == classes, -1, p)
            jobs.append((t, p, classes, metric, None))
        s = _core.BootstrapSettings(n_resamples=1000, method=method, seed=3)
        res = _core.bootstrap_ci_many(jobs, s)
        truth = pop[metric]
        covered = np.mean([r.low <= truth <= r.high for r in res])
        assert 0.93 <= covered <= 0.97, (metric, method, covered)
