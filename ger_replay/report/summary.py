"""The summary at the top of a report's page."""

from __future__ import annotations

import polars as pl

from ger_replay.errors import some_names
from ger_replay.protocol.status import Status
from ger_replay.report.html import esc
from ger_replay.score.scoring import PARTIAL_BELOW


def summary_lines(scores: pl.DataFrame, statuses: pl.DataFrame) -> list[str]:
    """The summary of the report's page (HTML, escaped here): synthetic runs first, then the
    counts over whole runs only (partial ones are named and left out)."""
    out = []
    src = scores.get_column("source").fill_null("?").value_counts(sort=True)
    out.append(
        "Runs by source: "
        + esc(", ".join(f"{r['source']} {r['count']}" for r in src.iter_rows(named=True)))
        + "."
    )
    synthetic = scores.filter(pl.col("synthetic")).get_column("run").to_list()
    if synthetic:
        out.insert(
            0,
            f"<strong>SYNTHETIC</strong>: {len(synthetic)} run(s) answered by the simulator, not "
            f"a model; their scores mean nothing ({esc(some_names(synthetic))}).",
        )
    partial = scores.filter(pl.col("partial")).get_column("run").to_list()
    scores = scores.filter(~pl.col("partial"))
    above = scores.filter(pl.col("value") > pl.max_horizontal("random", "majority")).height
    out.append(
        f"{above} of {scores.height} whole run(s) beat both the Random and the Majority baseline"
        + (
            f"; {len(partial)} partial run(s) left out (under {PARTIAL_BELOW:.0%} of the "
            f"samples answered: {esc(some_names(partial))})."
            if partial
            else "."
        )
    )
    if scores.height == 0:
        return out
    best = scores.sort("value", descending=True).head(1).row(0, named=True)
    worst = scores.sort("value").head(1).row(0, named=True)
    out.append(
        f"Highest: {esc(best['run'])} ({best['metric']} {best['value']:.2f}); lowest: "
        f"{esc(worst['run'])} ({worst['metric']} {worst['value']:.2f})."
    )
    n = int(statuses.get_column("n_samples").sum())
    ok = int(statuses.get_column(Status.OK.value).sum())
    out.append(
        f"{n - ok} of {n} sample answers ({(n - ok) / max(n, 1) * 100:.2f}%) were not usable "
        f"(refused {int(statuses.get_column('refused').sum())}, malformed "
        f"{int(statuses.get_column('malformed').sum())}, unanswered "
        f"{int(statuses.get_column('unanswered').sum())}, no candidate label "
        f"{int(statuses.get_column('no_candidate').sum())})."
    )
    return out
