"""What a run is compared with: the Random and Majority baselines of PROTOCOL.md part 2, from a
test set's class counts, and the paper's own numbers for the run.

Both depend on the labelled test set alone (how many samples of each score class), not on the
order of the samples or on a run, so the streaming scorer computes them from counts, once per
distinct test set, and a run scored alone or among thousands gets the same bits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

import ger_replay._core as _core
from ger_replay.protocol import datasets, reference
from ger_replay.protocol.rules import Rules

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
    """A seed drawn from the test set alone: SHA-256 of the dataset key and the sorted labels
    (the class codes, each repeated as often as the test set holds it)."""
    h = hashlib.sha256(dataset.key.encode())
    sorted_truth = np.repeat(np.arange(len(counts), dtype=np.int64), np.asarray(counts, np.int64))
    h.update(sorted_truth.astype("<i8").tobytes())
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


def baselines(counts: np.ndarray | Sequence[int], dataset: datasets.Dataset) -> tuple[float, float]:
    """(majority, random) in percent from the test set's count of each score class."""
    return _cached(dataset.key, tuple(map(int, counts)))


def baselines_of(counts: np.ndarray, dataset: datasets.Dataset) -> list[tuple[float, float]]:
    """`baselines` of each row of `counts` (test sets x classes), each distinct row once."""
    keys = list(map(tuple, counts.tolist()))
    found = {k: _cached(dataset.key, k) for k in dict.fromkeys(keys)}
    return [found[k] for k in keys]


#: The paper's GPT-4V value and where it is printed, its Random and Majority values.
PaperNumbers = tuple[float | None, str | None, float | None, float | None]


@lru_cache(maxsize=4096)
def _paper_numbers(
    key: str, level: str | None, template: Any, frames: Any, color: Any, modality: Any
) -> PaperNumbers:
    """The paper's GPT-4V value and where it is printed, its Random and Majority values, for a
    setting: a run's name matters only through the Twitter I level it names, so thousands of
    runs share a few lookups."""
    run = level or ""
    meta = {"dataset": key, "run": run, "template": template, "frames": frames}
    row = reference.for_meta({**meta, "color": color, "modality": modality})
    rnd = reference.baseline(key, reference.Kind.RANDOM, run)
    maj = reference.baseline(key, reference.Kind.MAJORITY, run)
    return (
        row.value if row else None,
        row.where if row else None,
        rnd.value if rnd else None,
        maj.value if maj else None,
    )


def paper_numbers(
    dataset: str, run: str, template: Any, frames: Any, color: Any, modality: Any
) -> PaperNumbers:
    """The paper's numbers for a run of this dataset (a registry key), name and setting."""
    level = reference.twitter1_level(run)
    return _paper_numbers(dataset, level, template, frames, color, modality)


def paper_columns(numbers: PaperNumbers, value: float | None) -> dict[str, Any]:
    """A run's columns from its `paper_numbers`: the paper's GPT-4V value (`paper`, where the
    paper has one for the run's setting), our `value` minus it (`delta`), where it is printed,
    its Random and Majority baselines."""
    paper, where, rnd, maj = numbers
    return {
        "paper": paper,
        "delta": (value - paper) if paper is not None and value is not None else None,
        "paper_source": where,
        "paper_random": rnd,
        "paper_majority": maj,
    }


def reference_columns(meta: dict[str, Any], value: float | None) -> dict[str, Any]:
    """`paper_columns` of a run from its metadata (dataset, run, template, frames, color,
    modality)."""
    numbers = paper_numbers(
        str(meta.get("dataset")),
        str(meta.get("run") or ""),
        meta.get("template"),
        meta.get("frames"),
        meta.get("color"),
        meta.get("modality"),
    )
    return paper_columns(numbers, value)
