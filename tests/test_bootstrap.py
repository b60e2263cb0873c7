"""The bootstrap API: label coding, determinism across thread counts and processes, groups,
paired comparisons and errors."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp

import numpy as np
import pytest

import ger_replay
from ger_replay import _core
from ger_replay.stats.bootstrap import (
    DiffResult,
    add_intervals,
    bootstrap_ci,
    bootstrap_diff,
    bootstrap_distribution,
    encode,
    mcnemar_exact,
)

LABELS = ["happy", "sad", "angry", "neutral"]


def sample(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(-1, 4, n))
    return t, p


def test_public_api_is_exported():
    assert ger_replay.bootstrap_ci is bootstrap_ci
    assert ger_replay.bootstrap_diff is bootstrap_diff
    assert ger_replay.DiffResult is DiffResult


def test_strings_and_codes_give_the_same_interval():
    t, p = sample()
    names_t = [LABELS[i] for i in t]
    names_p = [None if i < 0 else LABELS[i] for i in p]
    for metric in ("acc", "uar", "waf", "macro_f1"):
        a = bootstrap_ci(t, p, metric, n_resamples=2000, seed=3)
        b = bootstrap_ci(names_t, names_p, metric, n_resamples=2000, seed=3)
        # class order differs (alphabetical vs code), the metric and the distribution do not
        assert a == pytest.approx(b, abs=1.5), metric
        assert a[0] < a[1]


def test_encode_codes_jointly_and_marks_missing():
    t, (p,), n, classes = encode(["b", "a", "c"], ["z", None, -1])
    assert classes == ("a", "b", "c", "z")
    assert t.tolist() == [1, 0, 2]
    assert p.tolist() == [3, -1, -1]
    assert n == 4
    t, (p,), n, _ = encode([0, 2, 1], [None, 2, 5])
    assert (t.tolist(), p.tolist(), n) == ([0, 2, 1], [-1, 2, 5], 6)
    with pytest.raises(ValueError, match=r"y_true\[1\]"):
        encode(["a", None], ["a", "a"])


def test_missing_predictions_count_as_wrong():
    t = ["x"] * 100
    p = ["x"] * 50 + [None] * 50
    lo, hi = bootstrap_ci(t, p, "acc", n_resamples=4000)
    assert lo < 50 < hi
    assert hi - lo < 25


def test_interval_brackets_the_estimate_and_shrinks_with_confidence():
    t, p = sample(2000)
    acc = float(np.mean(t == p)) * 100
    lo95, hi95 = bootstrap_ci(t, p, n_resamples=4000)
    lo80, hi80 = bootstrap_ci(t, p, n_resamples=4000, confidence=0.8)
    assert lo95 < lo80 < acc < hi80 < hi95


def test_same_seed_same_bits_on_one_and_two_threads():
    t, p = sample(3000)
    for metric in ("acc", "waf"):
        for sampler in ("counts", "index"):
            one = bootstrap_distribution(
                t, p, metric, n_resamples=3000, seed=9, sampler=sampler, threads=1
            )
            two = bootstrap_distribution(
                t, p, metric, n_resamples=3000, seed=9, sampler=sampler, threads=2
            )
            assert np.array_equal(one.view(np.uint64), two.view(np.uint64))
        a = bootstrap_ci(t, p, metric, n_resamples=3000, method="bca", seed=9, threads=1)
        b = bootstrap_ci(t, p, metric, n_resamples=3000, method="bca", seed=9, threads=2)
        assert a == b
    other = bootstrap_distribution(t, p, "acc", n_resamples=3000, seed=10)
    assert not np.array_equal(other, bootstrap_distribution(t, p, "acc", n_resamples=3000, seed=9))


def test_many_runs_at_once_equal_one_at_a_time():
    jobs = [(*sample(500 + 100 * k, k), 4, m, None) for k, m in enumerate(["acc", "uar", "waf"])]
    settings = _core.BootstrapSettings(n_resamples=1000, method="bca", seed=4)
    many = _core.bootstrap_ci_many(jobs, settings)
    for (t, p, c, m, _), r in zip(jobs, many, strict=True):
        assert r == _core.bootstrap_ci(t, p, c, m, settings=settings)


def _child_interval(q: mp.Queue) -> None:  # type: ignore[type-arg]
    t, p = sample(800)
    q.put(bootstrap_ci(t, p, "waf", n_resamples=1000, seed=2))


def test_works_in_a_forked_child_after_the_parent_used_the_pool():
    t, p = sample(800)
    here = bootstrap_ci(t, p, "waf", n_resamples=1000, seed=2)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_child_interval, args=(q,))
    proc.start()
    got = q.get(timeout=60)
    proc.join(timeout=60)
    assert got == here


def test_groups_resample_whole_subjects():
    # 40 subjects x 25 samples; each subject all right or all wrong
    t = np.zeros(1000, dtype=np.int64)
    subj = np.repeat(np.arange(40), 25)
    p = np.where(subj % 3 == 0, 1, 0)
    lo, hi = bootstrap_ci(t, p, n_resamples=3000)
    glo, ghi = bootstrap_ci(t, p, n_resamples=3000, groups=subj)
    assert (ghi - glo) > 3 * (hi - lo)
    names = [f"s{i}" for i in subj]
    assert bootstrap_ci(t, p, n_resamples=3000, groups=names) == (glo, ghi)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        bootstrap_ci(t, p, groups=[1, 2, 3])


def test_paired_difference_of_a_better_run():
    rng = np.random.default_rng(5)
    t, a = sample(1500, 1)
    b = np.where(rng.random(1500) < 0.2, t, a)
    r = bootstrap_diff(t, a, b, n_resamples=4000, seed=1)
    assert isinstance(r, DiffResult)
    expect = (np.mean(b == t) - np.mean(a == t)) * 100
    assert r.diff == pytest.approx(expect)
    assert r.low < r.diff < r.high and r.low > 0
    assert r.p_value < 0.001
    only_a = int(np.sum((a == t) & (b != t)))
    only_b = int(np.sum((a != t) & (b == t)))
    assert (r.only_a, r.only_b) == (only_a, only_b)
    assert r.mcnemar_p == pytest.approx(mcnemar_exact(only_a, only_b))
    assert r.mcnemar_p is not None and r.mcnemar_p < 1e-10
    w = bootstrap_diff(t, a, b, "waf", n_resamples=2000)
    assert w.mcnemar_p is None and w.diff > 0


def test_paired_no_difference():
    t, a = sample(700, 2)
    b = a.copy()
    swap = np.flatnonzero(a != t)[:20]
    fix = np.flatnonzero(a == t)[:20]
    b[swap] = t[swap]  # 20 fixed
    b[fix] = (t[fix] + 1) % 4  # 20 broken
    r = bootstrap_diff(t, a, b, n_resamples=4000, method="bca", seed=3)
    assert r.diff == 0.0
    assert r.low < 0 < r.high
    assert r.p_value > 0.5
    assert r.mcnemar_p == 1.0


def test_bad_arguments_raise_value_errors():
    t, p = sample(50)
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_ci(t, p, "f2")
    with pytest.raises(ValueError, match="unknown method"):
        bootstrap_ci(t, p, method="basic")
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(t, p, confidence=1.5)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci(t, p, n_resamples=0)
    with pytest.raises(ValueError, match="y_true has 50 samples but y_pred has 49"):
        bootstrap_ci(t, p[:-1])
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([], [])
    with pytest.raises(ValueError, match=r"y_true\[0\] = -1"):
        bootstrap_ci([-1, 0], [0, 0])
    with pytest.raises(ValueError, match="sampler"):
        _core.bootstrap_ci(t, p, 4, settings=_core.BootstrapSettings(sampler="magic"))


def test_add_intervals_fills_rows_of_coded_runs():
    from ger_replay.protocol import datasets
    from ger_replay.score.scoring import Coded

    t, p = sample(400)
    ds = datasets.get("sfew2")
    coded = Coded(
        run="r1",
        dataset=ds,
        classes=tuple(ds.labels),
        sample_id=[str(i) for i in range(400)],
        truth=t,
        pred=p,
        answered=p >= 0,
        status=["ok"] * 400,
    )
    rows = [{"run": "r1", "ci_low": None, "ci_high": None}, {"run": "other"}]
    add_intervals(rows, [coded], n_resamples=2000, confidence=0.9, seed=1)
    keep = p >= 0
    assert (rows[0]["ci_low"], rows[0]["ci_high"]) == bootstrap_ci(
        t[keep], p[keep], "acc", n_resamples=2000, confidence=0.9, seed=1
    )
    assert rows[0]["confidence"] == 0.9
    assert "ci_low" not in rows[1]
    strict = dataclasses.replace(coded, scored=np.ones(400, dtype=bool), rules="strict")
    add_intervals(rows, [strict], n_resamples=2000)
    assert rows[0]["ci_low"] == bootstrap_ci(t, p, "acc", n_resamples=2000)[0]


def test_the_core_boundary_is_typed_and_its_errors_are_the_tools():
    from ger_replay.errors import CoreError, GerReplayError

    t, p = sample(300)
    s = _core.BootstrapSettings(n_resamples=500, method="bca", seed=2)
    assert (s.n_resamples, s.method, s.seed, s.sampler, s.threads) == (500, "bca", 2, "auto", None)
    r = _core.bootstrap_ci(t, p, 4, "uar", settings=s)
    assert isinstance(r, _core.BootstrapInterval) and r.low <= r.estimate <= r.high
    with pytest.raises(AttributeError):
        r.low = 0.0  # type: ignore[misc]
    d = _core.bootstrap_diff(t, p, np.where(p == t, p, -1), 4, "acc", settings=s)
    assert isinstance(d, _core.BootstrapDiff) and d.mcnemar_p is not None and d.only_a == 0
    # Every refusal of the core is the tool's error (and still a ValueError).
    for bad in (
        lambda: _core.bootstrap_ci(t, p, 4, "nope"),
        lambda: _core.BootstrapSettings(method="magic"),
        lambda: _core.frame_plan(0, 3),
        lambda: _core.compute_metrics(np.array([5]), np.array([0]), 2),
    ):
        with pytest.raises(GerReplayError) as got:
            bad()
        assert isinstance(got.value, CoreError) and isinstance(got.value, ValueError)
