"""The Random and Majority baselines of PROTOCOL.md part 2, from a test set's class counts.

Both depend on the labelled test set alone (how many samples of each score class), not on the
order of the samples or on a run, so the streaming scorer computes them from counts, once per
distinct test set, and a run scored alone or among thousands gets the same bits.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from ger_replay import _core
from ger_replay.protocol import datasets
from ger_replay.score.rules import Rules

METRIC_KEY = {"ACC": "acc", "WAR": "war", "WAF": "waf"}
#: Draws averaged for the random baseline where it has no closed form (WAF).
RANDOM_DRAWS = 100


def candidate_codes(dataset: datasets.Dataset) -> np.ndarray:
    """The score class of each candidate label, in candidate order."""
    lab = Rules(dataset)
    return np.asarray([lab.code(lab.binarize(c)) for c in dataset.labels], dtype=np.int64)


def majority(counts: np.ndarray, dataset: datasets.Dataset) -> float:
    """Predicting the most frequent test class (ties to the first) for every sample, in the
    dataset's metric, in percent."""
    c = len(counts)
    cm = np.zeros((c, c + 1), dtype=np.uint64)
    cm[:, int(np.argmax(counts))] = counts
    return float(_core.metrics_from_confusion(cm)[METRIC_KEY[dataset.metric]]) * 100  # type: ignore[arg-type]


def random_seed(counts: np.ndarray, dataset: datasets.Dataset) -> int:
    """A seed drawn from the test set alone: SHA-256 of the dataset key and the class counts."""
    h = hashlib.sha256(dataset.key.encode())
    h.update(np.asarray(counts, dtype="<i8").tobytes())
    return int.from_bytes(h.digest()[:8], "little")


def random(counts: np.ndarray, dataset: datasets.Dataset) -> float:
    """A uniform guess over the candidate labels (binarized where the dataset is), in the
    dataset's metric, in percent. ACC and WAR: the exact expected value (the share of
    candidates in each sample's class, averaged). WAF has no closed form: the mean of
    `RANDOM_DRAWS` seeded draws (seed: `random_seed`)."""
    c = len(counts)
    cand = candidate_codes(dataset)
    n = int(counts.sum())
    if dataset.metric in ("ACC", "WAR"):
        hits = int(np.dot(counts.astype(np.int64), np.bincount(cand, minlength=c)))
        return hits / (n * len(cand)) * 100
    truth = np.repeat(np.arange(c, dtype=np.int64), counts.astype(np.int64))
    rng = np.random.default_rng(random_seed(counts, dataset))
    key = METRIC_KEY[dataset.metric]
    vals = [
        _core.compute_metrics(truth, cand[rng.integers(0, len(cand), size=n)], c)[key]
        for _ in range(RANDOM_DRAWS)
    ]
    return float(np.mean(vals)) * 100


@lru_cache(maxsize=4096)
def _cached(key: str, counts: tuple[int, ...]) -> tuple[float, float]:
    ds = datasets.get(key)
    arr = np.asarray(counts, dtype=np.int64)
    return majority(arr, ds), random(arr, ds)


def baselines(counts: np.ndarray, dataset: datasets.Dataset) -> tuple[float, float]:
    """(majority, random) in percent from the test set's count of each score class."""
    return _cached(dataset.key, tuple(int(x) for x in counts))
