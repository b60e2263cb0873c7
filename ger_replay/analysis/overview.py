"""One line per run (`ger-replay runs`): what it is, how far it got and what it used."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ger_replay.analysis.refusals import run_calls
from ger_replay.analysis.runsets import run_info, setting_label
from ger_replay.io import table
from ger_replay.io.runs import RecordedCalls
from ger_replay.score.flags import PARTIAL_BELOW, run_flags

#: the columns of `runs`, in order
SCHEMA = {
    "run": pl.String,
    "dataset": pl.String,
    "model": pl.String,
    "setting": pl.String,
    "batches": pl.String,
    "answered": pl.String,
    "scored": pl.Int64,
    "tokens": pl.Int64,
    "cost": pl.String,
    "flags": pl.String,
}


def _flags(row: Mapping[str, Any]) -> str:
    out = []
    if row["synthetic"]:
        out.append("SYNTHETIC")
    if row["partial"]:
        out.append("partial")
    return ", ".join(out)


def runs_overview(
    df: pl.DataFrame,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    calls: Sequence[RecordedCalls] = (),
) -> pl.DataFrame:
    """A row per run: dataset, model, setting, batches done of planned (recorded runs), share
    of samples answered, samples with a usable answer, tokens used and their cost (recorded
    runs, where the price is known) and the flags SYNTHETIC and partial."""
    info = run_info(df).drop("n_samples")
    counts = run_flags(df).select("run", "n_total", "n_answered", "synthetic")
    ok = df.group_by("run").agg((pl.col("status") == table.OK).sum().alias("n_ok"))
    summary = info.join(counts, on="run", maintain_order="left").join(
        ok, on="run", maintain_order="left"
    )
    return overview_of_counts(summary, provenance, calls)


def overview_of_counts(
    counts: pl.DataFrame,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    calls: Sequence[RecordedCalls] = (),
) -> pl.DataFrame:
    """`runs_overview` from one row per run: run, dataset, the setting columns, repeat,
    synthetic, n_total, n_answered and n_ok (`score.run_counts`, or a loaded table's)."""
    provenance = provenance or {}
    flags = counts.with_columns(
        (pl.col("n_answered") * 100 / pl.col("n_total")).alias("answered")
    ).with_columns((pl.col("answered") < PARTIAL_BELOW * 100).alias("partial"))
    recorded = {c.run: run_calls(c) for c in calls}
    rows = []
    for f in flags.iter_rows(named=True):
        run = f["run"]
        batches, tokens, cost = "-", None, None
        rc = recorded.get(run)
        size = provenance.get(run, {}).get("batch_size")
        if rc is not None and size:
            planned = math.ceil(f["n_total"] / int(size))
            batches = f"{rc.row['batches_done']} of {planned}"
            tokens = rc.row.get("total_tokens")
            cost = rc.row.get("spent_usd")  # where the run's price is known
        rows.append(
            {
                "run": run,
                "dataset": f["dataset"],
                "model": f["model"] or "-",
                "setting": setting_label(f, ("template", "frames", "color", "modality"))
                + ("" if f["repeat"] is None else f", repeat {f['repeat']}"),
                "batches": batches,
                "answered": f"{f['n_answered']} of {f['n_total']} ({f['answered']:.0f}%)",
                "scored": int(f["n_ok"] or 0),
                "tokens": tokens,
                "cost": None if cost is None else f"${cost:.2f}",
                "flags": _flags(f),
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)
