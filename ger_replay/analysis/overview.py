"""One line per run (`ger-replay runs`): what it is, how far it got and what it used."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ger_replay.analysis.refusals import run_calls
from ger_replay.analysis.runsets import run_info, setting_label
from ger_replay.io.runs import RecordedCalls
from ger_replay.score.scoring import run_flags

COLUMNS = (
    "run",
    "dataset",
    "model",
    "setting",
    "batches",
    "answered",
    "scored",
    "tokens",
    "cost",
    "flags",
)


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
    provenance = provenance or {}
    info = {r["run"]: r for r in run_info(df).iter_rows(named=True)}
    flags = {r["run"]: r for r in run_flags(df).iter_rows(named=True)}
    usable = dict(df.group_by("run").agg((pl.col("status") == "ok").sum().alias("n")).iter_rows())
    recorded = {c.run: run_calls(c) for c in calls}
    rows = []
    for run, meta in info.items():
        f = flags[run]
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
                "dataset": meta["dataset"],
                "model": meta["model"] or "-",
                "setting": setting_label(meta, ("template", "frames", "color", "modality"))
                + ("" if meta["repeat"] is None else f", repeat {meta['repeat']}"),
                "batches": batches,
                "answered": f"{f['n_answered']} of {f['n_total']} ({f['answered']:.0f}%)",
                "scored": int(usable.get(run, 0)),
                "tokens": tokens,
                "cost": None if cost is None else f"${cost:.2f}",
                "flags": _flags(f),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
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
        },
    )
