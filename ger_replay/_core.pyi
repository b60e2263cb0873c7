"""Typed stubs of the Rust extension `ger_replay._core` (kept honest by tests/test_stubs.py)."""

import numpy as np
import numpy.typing as npt

__version__: str

# --- labels -------------------------------------------------------------------------------------

def default_synonyms() -> list[tuple[str, str]]:
    """The synonym table of PROTOCOL.md part 3 as (variant, canonical) pairs."""

def fold_labels(
    labels: list[str], extra_synonyms: list[tuple[str, str]] | None = None
) -> list[str]:
    """The folded comparison key of each label (case, white space, synonyms)."""

# --- metrics ------------------------------------------------------------------------------------

def confusion_matrix(
    y_true: npt.NDArray[np.int64], y_pred: npt.NDArray[np.int64], n_classes: int
) -> npt.NDArray[np.uint64]:
    """Counts `n_classes x (n_classes + 1)`; the last column counts missing predictions."""

def compute_metrics(
    y_true: npt.NDArray[np.int64], y_pred: npt.NDArray[np.int64], n_classes: int
) -> dict[str, float | int | list[float] | list[int]]:
    """n, acc, war, uar, waf, macro_f1 (fractions) and per-class support, precision, recall, f1."""

def metrics_from_confusion(
    counts: npt.NDArray[np.uint64],
) -> dict[str, float | int | list[float] | list[int]]:
    """Every metric of a `C x C` or `C x (C + 1)` confusion matrix of counts."""
