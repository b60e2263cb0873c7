"""`ger-replay reproduce RESULTS_DIR`: import the paper's released predictions, score them with
the paper's rule set and compare every number with the paper's reference values.

A GPT-4V number *matches* when ours, rounded to two decimals, equals the paper's. The paper's
Random and Majority baselines are shown beside ours for information only: the paper's Random is
the mean of unseeded draws, and its Majority used test lists that differ from the released ones
for some datasets (PROTOCOL.md part 3, rule 8), so neither decides the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ger_replay.errors import GerReplayError
from ger_replay.protocol.rulesets import RuleSet
from ger_replay.score.scoring import score_table

#: Rows of the comparison (one per run the paper has a number for).
SCHEMA: dict[str, Any] = {
    "run": pl.String,
    "dataset": pl.String,
    "where": pl.String,
    "ours": pl.Float64,
    "paper": pl.Float64,
    "delta": pl.Float64,
    "match": pl.Boolean,
    "n_scored": pl.Int64,
    "n_total": pl.Int64,
}
BASELINE_SCHEMA: dict[str, Any] = {
    "run": pl.String,
    "dataset": pl.String,
    "baseline": pl.String,
    "ours": pl.Float64,
    "paper": pl.Float64,
    "delta": pl.Float64,
    "match": pl.Boolean,
}


def same_to_two_decimals(ours: float, paper: float) -> bool:
    return f"{ours:.2f}" == f"{paper:.2f}"


@dataclass
class Reproduction:
    rules: str
    #: a row per run with a reference value
    table: pl.DataFrame
    #: our Random and Majority beside the paper's (information, not a check)
    baselines: pl.DataFrame
    #: runs the paper has no number for
    uncovered: list[str] = field(default_factory=list)
    errors: list[GerReplayError] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return self.table.filter(~pl.col("match")).get_column("run").to_list()

    def verdict(self) -> list[str]:
        """Lines for stderr: each number that differs, or that all match."""
        n = self.table.height
        bad = self.table.filter(~pl.col("match"))
        if bad.height == 0:
            return [f"all {n} number(s) match the paper to two decimals"] if n else []
        out = [f"\n{bad.height} of {n} number(s) differ from the paper at two decimals:"]
        for row in bad.iter_rows(named=True):
            out.append(
                f"  {row['run']}: ours {row['ours']:.2f}, paper {row['paper']:.2f} ({row['where']})"
            )
        return out


def compare(rows: list[dict[str, Any]], rules: str) -> Reproduction:
    """The comparison of score rows (`score_table(...).rows`) with the paper's numbers."""
    out, base, uncovered = [], [], []
    for r in rows:
        if r.get("paper") is None or r.get("value") is None:
            uncovered.append(str(r["run"]))
        else:
            out.append(
                {
                    "run": r["run"],
                    "dataset": r["dataset"],
                    "where": r.get("paper_source"),
                    "ours": round(float(r["value"]), 2),
                    "paper": r["paper"],
                    "delta": round(float(r["value"]) - float(r["paper"]), 2) + 0.0,
                    "match": same_to_two_decimals(float(r["value"]), float(r["paper"])),
                    "n_scored": r["n_scored"],
                    "n_total": r["n_total"],
                }
            )
        for name in ("majority", "random"):
            theirs = r.get(f"paper_{name}")
            ours = r.get(name)
            if theirs is None or ours is None:
                continue
            base.append(
                {
                    "run": r["run"],
                    "dataset": r["dataset"],
                    "baseline": name,
                    "ours": round(float(ours), 2),
                    "paper": theirs,
                    "delta": round(float(ours) - float(theirs), 2) + 0.0,
                    "match": same_to_two_decimals(float(ours), float(theirs)),
                }
            )
    return Reproduction(
        rules,
        pl.DataFrame(out, schema=SCHEMA),
        pl.DataFrame(base, schema=BASELINE_SCHEMA).unique(
            subset=["dataset", "baseline", "ours", "paper"], maintain_order=True
        ),
        uncovered,
    )


def reproduce(results_dir: Path, rules: RuleSet | str = RuleSet.PAPER) -> Reproduction:
    """Imports a released results folder, scores it under `rules` and compares. Files that
    cannot be read are reported in `errors`; the rest is still compared. Raises InputError when
    the folder itself cannot be read."""
    from ger_replay.io.released import import_results

    df, errors = import_results(Path(results_dir))
    res = score_table(df, rules) if df.height else None
    rep = compare(res.rows if res else [], str(RuleSet(rules)))
    rep.errors = [*errors, *(res.errors if res else [])]
    return rep


__all__ = ["Reproduction", "compare", "reproduce", "same_to_two_decimals"]
