"""Statistics over scored runs: bootstrap confidence intervals and paired tests (Rust core)."""

from ger_replay.stats.bootstrap import (
    DiffResult,
    add_intervals,
    bootstrap_ci,
    bootstrap_diff,
    bootstrap_distribution,
    mcnemar_exact,
)

__all__ = [
    "DiffResult",
    "add_intervals",
    "bootstrap_ci",
    "bootstrap_diff",
    "bootstrap_distribution",
    "mcnemar_exact",
]
