"""`record --limit N`: a seeded, class-stratified subset of a manifest for smoke runs.

The samples of each class are shuffled (seeded). One sample of every class comes first (the
classes in a seeded order), then the rest by key (i + u_c) / n_c for the i-th of the n_c samples
of class c, u_c a seeded offset in [0, 1). The subset of size N is the first N of that order. So
every class is present once N reaches the number of classes, the classes are otherwise taken in
proportion to their size, the same N and seed give the same subset, and a larger N holds every
sample of a smaller one: a smoke run grows into a full run without asking any sample twice.

A run recorded with `--limit` keeps `subset` in run.json (`{"n", "of", "seed"}`); a later
`record` in the same folder with a larger `--limit`, or without one, adds the missing samples
as a new segment of batches (run.json `segments`), leaving the finished batches as they are.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ger_replay.errors import InputError
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.rules import Rules, UnknownLabel
from ger_replay.protocol.settings import Sample


def _stratum(rules: Rules, gt: str) -> str:
    try:
        return str(rules.truth(gt))
    except (UnknownLabel, ValueError):
        return "(no class)"


def ranked(samples: Sequence[Sample], dataset: Dataset, seed: int) -> list[Sample]:
    """Every sample, in the order the subsets take them (see the module docstring)."""
    rules = Rules(dataset)
    by_class: dict[str, list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.sample_id):
        by_class[_stratum(rules, s.gt)].append(s)
    keyed: list[tuple[int, float, str, Sample]] = []
    for cls in sorted(by_class):
        members = by_class[cls]
        rng = random.Random(f"ger-replay-subset:{seed}:{cls}")
        rng.shuffle(members)
        u = rng.random()
        n = len(members)
        keyed.extend(
            (0 if i == 0 else 1, u if i == 0 else (i + u) / n, s.sample_id, s)
            for i, s in enumerate(members)
        )
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def select(
    samples: Sequence[Sample], dataset: Dataset, limit: int | None, seed: int
) -> list[Sample]:
    """The subset of `limit` samples (all of them when `limit` is None or not smaller)."""
    if limit is None or limit >= len(samples):
        return list(samples)
    if limit < 1:
        raise InputError("--limit must be at least 1")
    return ranked(samples, dataset, seed)[:limit]


def describe(n: int, of: int, seed: int) -> dict[str, int] | None:
    """run.json's `subset`: None for a full run."""
    return None if n >= of else {"n": n, "of": of, "seed": seed}


def class_counts(samples: Sequence[Sample], dataset: Dataset) -> dict[str, int]:
    rules = Rules(dataset)
    out: dict[str, int] = defaultdict(int)
    for s in samples:
        out[_stratum(rules, s.gt)] += 1
    return dict(out)


def layout(
    samples: Sequence[Sample],
    dataset: Dataset,
    limit: int | None,
    seed: int,
    shuffle: Callable[[Sequence[str]], list[str]],
    meta: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[int] | None, dict[str, int] | None]:
    """(sample_order, segments, subset) of the run after this command: a new run of `limit`
    samples (all without one), or an existing run grown by the samples a larger `limit` (or
    none) adds. Only a run recorded with `--limit` grows; `shuffle` orders each new part."""
    if meta is None:
        chosen = select(samples, dataset, limit, seed)
        order = shuffle([s.sample_id for s in chosen])
        sub = describe(len(order), len(samples), seed)
        return order, ([len(order)] if sub else None), sub
    order = [str(x) for x in meta["sample_order"]]
    segments = meta.get("segments")
    was = meta.get("subset")
    if not isinstance(was, Mapping):
        return order, segments, None
    was_seed = was.get("seed", seed)
    if not isinstance(was_seed, int) or isinstance(was_seed, bool):
        raise InputError(f"run.json: subset seed must be a whole number, found {was_seed!r}")
    chosen = select(samples, dataset, limit, was_seed)
    have = set(order)
    new = [s.sample_id for s in chosen if s.sample_id not in have]
    if not new:
        return order, segments, dict(was)
    parts = list(segments or [len(order)])
    order += shuffle(new)
    parts.append(len(new))
    return order, parts, describe(len(order), len(samples), was_seed)
