"""The Rust metrics kernel against scikit-learn, on random and edge-case inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from ger_replay import _core

NONE = -1
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _sk(t: np.ndarray, p: np.ndarray, n_classes: int) -> dict[str, object]:
    """scikit-learn's figures for the same input; a missing prediction is its own label that is
    no class (so it counts against recall and never as a class of its own in the averages)."""
    present = sorted(set(t.tolist()) | {x for x in p.tolist() if x >= 0})
    labels = list(range(n_classes))
    prec, rec, f1, sup = precision_recall_fscore_support(t, p, labels=labels, zero_division=0.0)
    return {
        "acc": accuracy_score(t, p),
        "uar": balanced_accuracy_score(t, p)
        if NONE not in p
        else np.mean([rec[c] for c in sorted(set(t.tolist()))]),
        "waf": f1_score(t, p, labels=labels, average="weighted", zero_division=0.0),
        "macro_f1": f1_score(t, p, labels=present, average="macro", zero_division=0.0),
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "support": sup,
        "cm": confusion_matrix(t, p, labels=[*labels, NONE]),
    }


def _check(t: list[int], p: list[int], n_classes: int) -> None:
    ta, pa = np.asarray(t, dtype=np.int64), np.asarray(p, dtype=np.int64)
    ours = _core.compute_metrics(ta, pa, n_classes)
    ref = _sk(ta, pa, n_classes)
    for k in ("acc", "uar", "waf", "macro_f1"):
        assert ours[k] == pytest.approx(ref[k], abs=1e-12), k
    assert ours["war"] == pytest.approx(ours["acc"], abs=0)
    np.testing.assert_allclose(ours["precision"], ref["precision"], atol=1e-12)
    np.testing.assert_allclose(ours["f1"], ref["f1"], atol=1e-12)
    assert list(ours["support"]) == list(ref["support"])
    rec = np.asarray(ours["recall"], dtype=float)
    present = np.asarray(ref["support"]) > 0
    np.testing.assert_allclose(rec[present], np.asarray(ref["recall"])[present], atol=1e-12)
    assert np.isnan(rec[~present]).all()
    cm = _core.confusion_matrix(ta, pa, n_classes)
    assert cm.shape == (n_classes, n_classes + 1)
    np.testing.assert_array_equal(cm, ref["cm"][:n_classes])


@st.composite
def coded(draw: st.DrawFn) -> tuple[list[int], list[int], int]:
    c = draw(st.integers(1, 9))
    n = draw(st.integers(1, 300))
    t = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    p = draw(st.lists(st.integers(-1, c - 1), min_size=n, max_size=n))
    return t, p, c


@settings(max_examples=300, deadline=None)
@given(coded())
def test_metrics_match_sklearn_on_generated_inputs(case: tuple[list[int], list[int], int]) -> None:
    _check(*case)


def test_random_large_inputs_match_sklearn() -> None:
    rng = np.random.default_rng(7)
    for c in (2, 5, 8):
        t = rng.integers(0, c, 5000)
        p = np.where(rng.random(5000) < 0.6, t, rng.integers(0, c, 5000))
        _check(t.tolist(), p.tolist(), c)


def test_one_class() -> None:
    _check([0, 0, 0, 0], [0, 0, 0, 0], 1)
    _check([0, 0, 0], [0, -1, 0], 1)


def test_absent_classes_in_truth_and_prediction() -> None:
    _check([0, 0, 2, 2], [0, 1, 2, 0], 5)
    _check([3, 3, 3], [0, 1, 2], 4)


def test_empty_input_is_a_clear_error() -> None:
    e = np.asarray([], dtype=np.int64)
    with pytest.raises(ValueError, match="empty"):
        _core.compute_metrics(e, e, 3)


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="y_true has 2 samples but y_pred has 1"):
        _core.compute_metrics(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match=r"y_true\[1\] = 5"):
        _core.compute_metrics(np.array([0, 5]), np.array([0, 1]), 2)


def test_strided_arrays_are_read_correctly() -> None:
    t = np.arange(20, dtype=np.int64) % 3
    p = (np.arange(20, dtype=np.int64) * 7) % 3
    ours = _core.compute_metrics(t[::2], p[::2], 3)
    assert ours["acc"] == pytest.approx(accuracy_score(t[::2], p[::2]))


def test_metrics_from_confusion_square_and_with_none_column() -> None:
    t = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([0, 1, 1, -1, 2, 2, 0])
    cm = _core.confusion_matrix(t, p, 3)
    a = _core.metrics_from_confusion(cm)
    b = _core.compute_metrics(t, p, 3)
    assert a == b
    sq = np.ascontiguousarray(cm[:, :3])
    c = _core.metrics_from_confusion(sq)
    assert c["n"] == 6
    with pytest.raises(ValueError, match="confusion matrix"):
        _core.metrics_from_confusion(np.zeros((2, 5), dtype=np.uint64))
