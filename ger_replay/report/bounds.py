"""What a report over many runs draws: summaries and the extremes, never thousands of figures.

Every table and data file holds every run; a figure shows at most `FIGURE_LIMIT` of a kind:
the highest and the lowest runs in a score or recall figure, the best and the worst run of each
dataset for per-run confusion figures, the largest repeat sets, the first colour pairs. Over a
leaderboard the questions are who is best, who fails, and why; the page's notes say what was
left out and where it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

FIGURE_LIMIT = 24


def extremes(
    runs: Sequence[str], values: dict[str, float | None], k: int = FIGURE_LIMIT
) -> list[str]:
    """`runs` where there are at most `k`; else the k/2 highest and the k/2 lowest by value
    (runs without a value last), in their given order."""
    if len(runs) <= k:
        return list(runs)
    ranked = sorted(runs, key=lambda r: (values.get(r) is None, -(values.get(r) or 0.0)))
    keep = set(ranked[: k // 2]) | set(ranked[-(k - k // 2) :])
    return [r for r in runs if r in keep]


def values(scores: pl.DataFrame) -> dict[str, float | None]:
    """run -> metric value, from a score table."""
    return dict(zip(scores.get_column("run"), scores.get_column("value"), strict=True))


def shown(rows: pl.DataFrame, scores: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The rows (of a score or recall table) of the runs a figure shows, and a caption's words
    for them: every run, or the highest and lowest."""
    runs = rows.get_column("run").unique(maintain_order=True).to_list()
    keep = extremes(runs, values(scores))
    if len(keep) == len(runs):
        return rows, "every run"
    which = f"the {len(keep)} highest and lowest of {len(runs)} runs (all in the tables)"
    return rows.filter(pl.col("run").is_in(keep)), which


def confusion_runs(runs: Sequence[str], scores: pl.DataFrame) -> tuple[list[str], str | None]:
    """The runs that get a confusion figure, and the note saying what was left out (None where
    every run has one): where there are many, the best and the worst run of each dataset."""
    if len(runs) <= FIGURE_LIMIT:
        return list(runs), None
    value_of = values(scores)
    by_dataset: dict[str, list[str]] = {}
    for run, key in scores.select("run", "dataset").iter_rows():
        by_dataset.setdefault(key, []).append(run)
    picked = {r for group in by_dataset.values() for r in extremes(group, value_of, 2)}
    keep = set(extremes(sorted(picked), value_of))
    note = (
        f"confusion: figures of the best and worst run of each dataset ({len(keep)} of "
        f"{len(runs)} runs; every run in tables/confusion.csv)"
    )
    return [r for r in runs if r in keep], note


def largest(sets: Sequence[Sequence[str]]) -> tuple[set[int], str | None]:
    """Indices of the repeat sets that get figures (the largest), and the note."""
    drawn = set(sorted(range(len(sets)), key=lambda i: -len(sets[i]))[:FIGURE_LIMIT])
    if len(sets) <= FIGURE_LIMIT:
        return drawn, None
    return drawn, (
        f"stability: figures and per-set tables of the {FIGURE_LIMIT} largest of {len(sets)} "
        "repeat sets (every set in tables/stability_summary.csv)"
    )
