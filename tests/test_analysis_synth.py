"""Synthetic runs with known answers for the analysis and report tests (and a check of them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ger_replay.io import table
from ger_replay.protocol import datasets


def make_run(
    run: str,
    key: str,
    ids: Sequence[str],
    gts: Sequence[str],
    rankings: Sequence[Sequence[str] | None],
    statuses: Sequence[str] | None = None,
    **meta: object,
) -> pl.DataFrame:
    """One run from explicit rankings (None = no answer); pred = first label of the ranking."""
    statuses = statuses or [table.OK if r else table.UNANSWERED for r in rankings]
    preds = [r[0] if r and s == table.OK else None for r, s in zip(rankings, statuses, strict=True)]
    m = {
        "run": run,
        "dataset": key,
        "model": "m",
        "template": "1",
        "frames": None,
        "color": "rgb",
        "modality": datasets.get(key).modality,
        "repeat": 0,
        "source": "test",
        **meta,
    }
    return table.run_frame(m, ids, gts, rankings, preds, statuses, attempts=[1] * len(ids))


def noisy_runs(
    n: int = 120,
    n_runs: int = 5,
    p_right: float = 0.6,
    p_fail: float = 0.03,
    seed: int = 1,
    key: str = "sfew2",
    vary: str = "repeat",
    levels: Sequence[object] | None = None,
) -> pl.DataFrame:
    """Runs over one shared test set: right with probability p_right, else a random label;
    p_fail of the samples refused. `vary` names the column that differs between the runs."""
    labels = datasets.get(key).labels
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, len(labels), n)
    ids = [f"s{i:04d}" for i in range(n)]
    frames = []
    levels = list(levels) if levels is not None else list(range(n_runs))
    for level in levels:
        rankings: list[list[str] | None] = []
        statuses = []
        for i in range(n):
            if rng.random() < p_fail:
                rankings.append(None)
                statuses.append(table.REFUSED)
                continue
            top = int(gt[i]) if rng.random() < p_right else int(rng.integers(0, len(labels)))
            rest = [labels[j] for j in rng.permutation(len(labels)) if j != top]
            rankings.append([labels[top], *rest[:3]])
            statuses.append(table.OK)
        meta: dict[str, object] = {vary: level}
        if vary != "repeat":
            meta["repeat"] = 0
        name = f"{key}/{vary}-{level}"
        truth = [labels[g] for g in gt]
        frames.append(make_run(name, key, ids, truth, rankings, statuses, **meta))
    return pl.concat(frames)


def test_noisy_runs_have_the_shape_asked_for() -> None:
    df = noisy_runs(n=50, n_runs=3)
    assert df.get_column("run").n_unique() == 3
    assert df.height == 150
    assert set(df.get_column("status").unique()) <= {table.OK, table.REFUSED}
    ok = df.filter(pl.col("status") == table.OK)
    assert (ok.get_column("pred") == ok.get_column("ranking").list.first()).all()
