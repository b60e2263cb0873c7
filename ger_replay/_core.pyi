"""Typed stubs of the Rust extension `ger_replay._core` (kept honest by tests/test_stubs.py)."""

from collections.abc import Sequence
from typing import Any, final

import numpy as np
import numpy.typing as npt

__version__: str

# --- frames -------------------------------------------------------------------------------------

def frame_plan(n_frames: int, k: int, method: str = "public") -> list[int]:
    """The `k` frame indices to decode from `n_frames` frames: "public" (PROTOCOL.md part 7) or
    "centred" (the middle of each of k equal segments). CoreError (a ValueError) on 0 frames,
    k = 0 or an unknown method."""

def motion_peak_plan(thumbs: npt.NDArray[np.uint8], k: int) -> list[int]:
    """The `k` frames differing most from the first, in time order, from (T, H, W) grayscale
    thumbnails."""

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

def json_dumps(value: object, digits: int | None = None) -> str | None:
    """`value` as `json.dumps(value, indent=2)` writes it, floats rounded to `digits` decimals
    and NaN as null; None when it holds anything but plain values (dict with str keys, list,
    tuple, str, int, float, bool, None; exact types)."""

def metrics_from_confusions(
    counts: npt.NDArray[np.uint64],
) -> dict[str, npt.NDArray[np.float64] | npt.NDArray[np.uint64]]:
    """Every metric of many `C x (C + 1)` confusion matrices (`runs x C x (C + 1)`): arrays
    n, acc, war, uar, waf, macro_f1 (one value per run) and recall (`runs x C`)."""

# --- parse --------------------------------------------------------------------------------------

@final
class ParseResult:
    """One parsed answer (frozen)."""

    @property
    def status(self) -> str:
        """One of "ok", "refused", "count_mismatch", "unparseable", "no_label"."""
    @property
    def rankings(self) -> list[list[str]]:
        """One ranking per item found, in the candidates' spelling, most likely first."""
    @property
    def top1(self) -> list[str | None]:
        """The first label of each ranking, or None for an item without a candidate label."""
    @property
    def invented(self) -> list[list[str]]:
        """Per item, the labels outside the candidates, as the model wrote them."""
    @property
    def refusal(self) -> str | None:
        """The id of the refusal wording that matched, when the answer held no item."""
    @property
    def hedged(self) -> list[bool]:
        """Per item, whether the answer named more than one label in prose."""
    def to_dict(self) -> dict[str, object]:
        """The result as a plain dict."""
    def __eq__(self, other: object, /) -> bool: ...
    def __len__(self) -> int: ...

def parse_response(
    text: str,
    n_items: int,
    labels: list[str],
    synonyms: list[tuple[str, str]] | None = None,
) -> ParseResult:
    """Parses one answer holding `n_items` items against the candidate `labels`."""

def parse_responses(
    texts: list[str],
    n_items: int | list[int],
    labels: list[str],
    synonyms: list[tuple[str, str]] | None = None,
) -> list[ParseResult]:
    """Parses many answers in parallel with the GIL released; results keep the input order."""

def refusal_patterns() -> list[tuple[str, str]]:
    """The refusal wordings as (id, regular expression) pairs, in the order they are tried."""

# --- bootstrap --------------------------------------------------------------------------------

@final
class BootstrapSettings:
    """How the bootstrap runs, for every bootstrap function (frozen; checked when made: an
    unknown method or sampler raises `ger_replay.errors.CoreError`)."""

    def __new__(
        cls,
        n_resamples: int = 10000,
        confidence: float = 0.95,
        method: str = "percentile",
        seed: int = 0,
        sampler: str = "auto",
        threads: int | None = None,
    ) -> BootstrapSettings: ...
    @property
    def n_resamples(self) -> int: ...
    @property
    def confidence(self) -> float: ...
    @property
    def method(self) -> str:
        """ "percentile" or "bca"."""
    @property
    def seed(self) -> int: ...
    @property
    def sampler(self) -> str:
        """ "auto", "counts" or "index"."""
    @property
    def threads(self) -> int | None:
        """Threads of the pool (None: GER_REPLAY_THREADS, else every core)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class BootstrapInterval:
    """A bootstrap interval of one metric (fractions; frozen)."""

    @property
    def estimate(self) -> float:
        """The metric on the data."""
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def n_units(self) -> int:
        """Units resampled (samples, or groups)."""
    @property
    def n_profiles(self) -> int:
        """Distinct unit profiles."""
    @property
    def sampler(self) -> str:
        """The resampler used: "counts" or "index"."""
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class BootstrapDiff:
    """A paired comparison, metric(b) - metric(a) with its interval (fractions; frozen)."""

    @property
    def estimate_a(self) -> float: ...
    @property
    def estimate_b(self) -> float: ...
    @property
    def diff(self) -> float:
        """b minus a."""
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def p_value(self) -> float:
        """Two-sided bootstrap p-value of no difference."""
    @property
    def mcnemar_p(self) -> float | None:
        """Exact McNemar p-value (accuracy on independent samples), else None."""
    @property
    def only_a(self) -> int: ...
    @property
    def only_b(self) -> int: ...
    @property
    def n_units(self) -> int: ...
    @property
    def n_profiles(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

def bootstrap_ci(
    y_true: npt.NDArray[np.int64],
    y_pred: npt.NDArray[np.int64],
    n_classes: int,
    metric: str = "acc",
    groups: npt.NDArray[np.int64] | None = None,
    settings: BootstrapSettings | None = None,
) -> BootstrapInterval:
    """Bootstrap interval of one metric of integer codes. CoreError on bad input."""

def bootstrap_ci_many(
    jobs: list[
        tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, str, npt.NDArray[np.int64] | None]
    ],
    settings: BootstrapSettings | None = None,
) -> list[BootstrapInterval]:
    """`bootstrap_ci` of each (y_true, y_pred, n_classes, metric, groups), in parallel."""

def bootstrap_ci_counts_many(
    jobs: list[tuple[npt.NDArray[np.uint64], str]],
    settings: BootstrapSettings | None = None,
) -> list[BootstrapInterval]:
    """`bootstrap_ci` of each run given as (`C x (C + 1)` confusion counts, metric), in
    parallel; equal, bit for bit, to `bootstrap_ci` on any samples with those counts."""

def bootstrap_distribution(
    y_true: npt.NDArray[np.int64],
    y_pred: npt.NDArray[np.int64],
    n_classes: int,
    metric: str = "acc",
    groups: npt.NDArray[np.int64] | None = None,
    settings: BootstrapSettings | None = None,
) -> npt.NDArray[np.float64]:
    """The metric on each resample (fractions, resample order)."""

def bootstrap_diff(
    y_true: npt.NDArray[np.int64],
    pred_a: npt.NDArray[np.int64],
    pred_b: npt.NDArray[np.int64],
    n_classes: int,
    metric: str = "acc",
    groups: npt.NDArray[np.int64] | None = None,
    settings: BootstrapSettings | None = None,
) -> BootstrapDiff:
    """Paired metric(b) - metric(a); mcnemar_p for accuracy without groups."""

def bootstrap_diff_distribution(
    y_true: npt.NDArray[np.int64],
    pred_a: npt.NDArray[np.int64],
    pred_b: npt.NDArray[np.int64],
    n_classes: int,
    metric: str = "acc",
    groups: npt.NDArray[np.int64] | None = None,
    settings: BootstrapSettings | None = None,
) -> npt.NDArray[np.float64]:
    """metric(b) - metric(a) on each paired resample (fractions, resample order)."""

def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the two discordant counts."""

# --- tally ------------------------------------------------------------------------------------

@final
class Tally:
    """Per-run counts of (gt, status, pred, first) and a check for repeated samples, in one pass
    over the string columns run, sample_id, gt, status, pred and first, given batch by batch.
    `first_or_pred`: a row without a first label counts its prediction as its first label."""

    def __new__(
        cls, check_duplicates: bool = True, first_or_pred: bool = False, shards: int = 0
    ) -> Tally:
        """`shards`: the rows of a batch are counted by this many threads (0: one per thread
        of the pool)."""
    def add_decoded(self, decoded: Decoded) -> list[int]:
        """Counts a batch of the columns of a row group (`RowGroup.batches` of run, sample_id,
        gt, status, pred and, where the rule set reads it, first). Returns the rows of the
        batch that are the first of their run."""
    def add(self, columns: Sequence[Sequence[object] | None]) -> list[int]:
        """Counts a batch given as its six columns (run, sample_id, gt, status, pred, first),
        each a list of parts that follow one another, a part being an object that exports an
        Arrow C stream of one column (a one-column polars DataFrame per chunk); `first` may be
        None. Returns the rows (within the batch) that are the first of their run."""
    def finish(self) -> dict[str, Any]:
        """runs, values (per counted column, code 0 being None), run, gt, status, pred, first,
        n (arrays) and maybe_duplicated (run indices whose sample hashes repeat)."""

@final
class ParquetFile:
    """A Parquet file's layout, from its footer: read a row group at a time from the byte
    ranges the caller reads (the core opens no file)."""

    def __new__(cls, metadata: bytes, file_len: int) -> ParquetFile:
        """The layout of a file of `file_len` bytes whose footer metadata is `metadata`."""
    @staticmethod
    def metadata_len(trailer: bytes) -> int:
        """The length of the footer metadata, from the file's last 8 bytes."""
    @property
    def row_groups(self) -> list[int]:
        """The rows of each row group."""
    @property
    def strings(self) -> list[str]:
        """The top-level columns read as strings."""
    def ranges(self, row_group: int, columns: list[str]) -> list[tuple[int, int]]:
        """The byte ranges (start, length) that hold the columns of a row group."""
    def row_group(self, index: int, chunks: list[tuple[int, bytes]]) -> RowGroup:
        """A row group, from the bytes of its `ranges` as (start, bytes)."""

@final
class RowGroup:
    """One row group of a `ParquetFile`, with the bytes of the columns that will be read."""

    def batches(self, columns: list[str]) -> Batches:
        """The columns decoded a batch at a time, each column on its own thread."""
    def rows(self, columns: list[str], rows: list[int]) -> dict[str, list[Any]]:
        """The values of the columns at the rows (sorted, within the group), as Python
        objects."""

@final
class Batches:
    """The columns of a row group decoded a batch at a time: an iterator of `Decoded`."""

    def __iter__(self) -> Batches: ...
    def __next__(self) -> Decoded: ...

@final
class Decoded:
    """One batch of the columns of a row group, decoded: what `Tally.add_decoded` counts."""

    @property
    def rows(self) -> int:
        """The rows of the batch."""
