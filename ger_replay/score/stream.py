"""Scoring in one streaming pass: memory grows with the number of runs, not of predictions.

Each source (a scanned file, a folder of Parquet parts, or an in-memory table) is read once, in
batches, by `ger_replay.score.tally`: each run's first row (its dataset and metadata), its rows
counted by distinct (gt, status, pred, first label of the ranking), and the runs that hold a
sample twice. Labels are then coded once per dataset over the distinct values (folding,
binarizing), the rule set is applied as polars expressions (`ger_replay.score.rulesets`), per-run
confusion counts come from the counts, and the metrics from them in one Rust call per dataset.
The values are those of scoring each run on its own (`scoring.code_run` and
`scoring.score_coded`), bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

import ger_replay._core as _core
from ger_replay.errors import GerReplayError, InputError, repeated_runs
from ger_replay.io import table
from ger_replay.io.predictions_file import READ_ERRORS
from ger_replay.io.scan import Lazy, in_memory
from ger_replay.protocol import datasets
from ger_replay.protocol import rulesets as rule_sets
from ger_replay.protocol.rules import Rules
from ger_replay.protocol.rulesets import Pick, RuleSet, RuleSpec, get
from ger_replay.score.baselines import METRIC_KEY, baselines_of, paper_columns, paper_numbers
from ger_replay.score.coding import GT, PRED, STATUS, CodedSets, code_sets
from ger_replay.score.flags import flags
from ger_replay.score.tally import Tallied, combine, tally

#: What a row repeats of its run's first row (`synthetic` read as a flag).
SETTING = ("model", "template", "frames", "color", "modality", "repeat", "synthetic")


@dataclass
class ScoreResult:
    rows: list[dict[str, Any]]
    errors: list[GerReplayError]
    #: run -> its confusion counts under the rule set (`C x (C + 1)`, the last column for no
    #: prediction): all the bootstrap needs, so intervals never go back to the predictions
    confusion: dict[str, np.ndarray] = field(default_factory=dict)


def _read_error(src: Lazy, e: Exception) -> InputError:
    return InputError(f"cannot read the predictions table: {e}", src.path)


def _first_samples(
    srcs: Sequence[Lazy], wanted: pl.DataFrame, col: str
) -> dict[tuple[str, Any], str]:
    """The first sample id (in row order) of each (run, value of `col`) in `wanted`."""
    runs = wanted.get_column("run").unique().implode()
    found: dict[tuple[str, Any], str] = {}
    for s in srcs:
        got = (
            s.frame.filter(pl.col("run").is_in(runs))
            .select("run", col, "sample_id")
            .join(wanted.select("run", col).lazy(), on=["run", col], how="semi", nulls_equal=True)
            .unique(subset=["run", col], keep="first", maintain_order=True)
            .collect()
        )
        for run, v, sid in got.iter_rows():
            found.setdefault((run, v), sid)
    return found


def tally_all(
    srcs: Sequence[Lazy], need_first: bool, check_duplicates: bool, errors: list[GerReplayError]
) -> tuple[list[Lazy], list[Tallied], set[str]]:
    """The sources that could be read, their tallies, and the runs that hold a sample twice (a
    run found in two sources included)."""
    good: list[Lazy] = []
    parts: list[Tallied] = []
    duplicated: set[str] = set()
    seen_in: dict[str, int] = {}
    for i, src in enumerate(srcs):
        try:
            got = tally(src, need_first, check_duplicates)
        except GerReplayError as e:
            errors.append(e)
            continue
        except READ_ERRORS as e:
            errors.append(_read_error(src, e))
            continue
        statuses = [got.values[STATUS][c] for c in np.unique(got.sets[:, STATUS]).tolist()]
        bad = [s for s in statuses if s not in table.STATUSES]
        if bad:
            errors.append(InputError(f"unknown status value(s) {sorted(map(str, bad))}", src.path))
            continue
        good.append(src)
        parts.append(got)
        duplicated.update(got.duplicated)
        if check_duplicates:
            for r in got.runs.get_column("run").to_list():
                if seen_in.setdefault(r, i) != i:
                    duplicated.add(r)
    return good, parts, duplicated


def score_sources(
    srcs: Sequence[Lazy],
    rules: RuleSet | str = rule_sets.DEFAULT,
    extra_synonyms: list[tuple[str, str]] | None = None,
    check_duplicates: bool = True,
) -> ScoreResult:
    """Scores every run of the sources under a rule set. A source that cannot be read is an
    error naming it; a run that fails is an error naming it; the rest are scored."""
    spec = get(rules)
    errors: list[GerReplayError] = []
    good, parts, duplicated = tally_all(
        srcs, spec.pick is Pick.FIRST_LABEL, check_duplicates, errors
    )
    if not parts:
        return ScoreResult([], errors)
    t = combine(parts)
    del parts
    failed: dict[int, str] = {}
    if duplicated:
        errors.append(repeated_runs(duplicated))
        names = t.runs.get_column("run").to_list()
        failed.update({i: "" for i, r in enumerate(names) if r in duplicated})
    rows, run_errors, confusion = _score_tallied(good, t, spec, extra_synonyms, failed)
    return ScoreResult(rows, errors + run_errors, confusion)


def _score_tallied(
    srcs: Sequence[Lazy],
    t: Tallied,
    spec: RuleSpec,
    extra_synonyms: list[tuple[str, str]] | None,
    failed: dict[int, str],
) -> tuple[list[dict[str, Any]], list[GerReplayError], dict[str, np.ndarray]]:
    """Rows of the runs of a tally, one dataset at a time; `failed` (run row -> message, empty
    for runs already named in an error) are left out."""
    name = t.runs.get_column("run").to_list()
    settings = _settings(t.runs)
    ds_keys = t.runs.get_column("dataset").to_list()
    order = list(dict.fromkeys(ds_keys))
    place = {k: i for i, k in enumerate(order)}
    ds_of_run = np.array([place[k] for k in ds_keys], dtype=np.int64)
    ds_of_entry = ds_of_run[t.run] if t.run.size else t.run
    coded: list[tuple[datasets.Dataset, np.ndarray, CodedSets]] = []
    bad: dict[str, list[tuple[int, Any, str]]] = {"gt": [], "pred": []}
    for k, key in enumerate(order):
        runs_k = np.flatnonzero(ds_of_run == k)
        try:
            ds = datasets.get(key)
        except datasets.UnknownDataset as e:
            for r in runs_k.tolist():
                failed.setdefault(r, f"run {name[r]}: {e}")
            continue
        sel = np.flatnonzero(ds_of_entry == k)
        used = np.flatnonzero(np.bincount(t.set[sel], minlength=len(t.sets)))  # `np.unique`
        c = code_sets(ds, Rules(ds, extra_synonyms), t.values, t.sets, used, spec)
        _bad_values(t, sel, c, bad)
        coded.append((ds, sel, c))
    _name_failures(srcs, t, name, bad, failed)
    rows_by_run: dict[int, dict[str, Any]] = {}
    confusion: dict[str, np.ndarray] = {}
    gone = np.array(sorted(failed), dtype=np.int64)
    for ds, sel, c in coded:
        if gone.size:
            sel = sel[~np.isin(t.run[sel], gone)]
        for r, row, cm in _score_dataset(ds, t, sel, c, spec, name, settings):
            rows_by_run[r] = row
            confusion[name[r]] = cm
    rows: list[dict[str, Any]] = []
    errors: list[GerReplayError] = []
    for r in range(len(name)):
        if r in failed:
            if failed[r]:
                errors.append(InputError(failed[r]))
        elif r in rows_by_run:
            rows.append(rows_by_run[r])
        else:
            errors.append(InputError(f"run {name[r]}: no scorable samples"))
    return rows, errors, confusion


def _settings(runs: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Each run's `SETTING` values, None for a column the runs lack."""
    absent = [None] * runs.height
    cols = [runs.get_column(c).to_list() if c in runs.columns else absent for c in SETTING]
    return list(zip(*cols, strict=True))


def _bad_values(
    t: Tallied, sel: np.ndarray, c: CodedSets, bad: dict[str, list[tuple[int, Any, str]]]
) -> None:
    """The (run, value, message) of each value that is an error, in entry order."""
    for col, j, found in (("gt", GT, c.bad_gt), ("pred", PRED, c.bad_pred)):
        if not found:
            continue
        codes = t.sets[t.set[sel], j]
        hit = sel[np.isin(codes, list(found))]
        pairs = zip(t.run[hit].tolist(), t.sets[t.set[hit], j].tolist(), strict=True)
        for r, v in dict.fromkeys(pairs):
            bad[col].append((r, t.values[j][v], found[v]))


def _name_failures(
    srcs: Sequence[Lazy],
    t: Tallied,
    name: list[str],
    bad: dict[str, list[tuple[int, Any, str]]],
    failed: dict[int, str],
) -> None:
    """One error per run, in the order scoring a run alone finds them (truth, then prediction),
    naming the first sample that holds the value."""
    for col in ("gt", "pred"):
        todo = [(r, v, m) for r, v, m in bad[col] if r not in failed]
        if not todo:
            continue
        wanted = pl.DataFrame(
            {"run": [name[r] for r, _, _ in todo], col: [v for _, v, _ in todo]},
            schema={"run": pl.String, col: pl.String},
        )
        first = _first_samples(srcs, wanted, col)
        for r, v, msg in todo:
            if r not in failed:
                failed[r] = f"run {name[r]}, sample {first.get((name[r], v))}: {msg}"


def per_run(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Sums of `weights` by `index` (exact: the weights are counts far below 2^53)."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.int64)


@dataclass
class _Counts:
    """One dataset's runs (their rows in the tally's runs, in order) and their counts."""

    runs: list[int]
    #: confusion counts, runs x C x (C + 1) (the last column: no prediction)
    cm: np.ndarray
    #: samples of each class, runs x C
    truth: np.ndarray
    total: list[int]
    answered: list[int]
    scored: list[int]
    #: samples by status, in `table.STATUSES` order, statuses without any left out
    status: list[dict[str, int]]


def _count(t: Tallied, sel: np.ndarray, c: CodedSets, k: int) -> _Counts:
    """The counts of the runs of the entries `sel` of the tally, in a dataset of `k` classes."""
    sets = t.set[sel]
    truth = c.truth[sets]
    keep = truth >= 0  # left out: a sentiment score of 0
    if not keep.all():
        sel, sets, truth = sel[keep], sets[keep], truth[keep]
    run = t.run[sel]
    # the runs, sorted, and each entry's place among them (`np.unique`, by counting)
    present = np.bincount(run, minlength=t.runs.height) > 0
    runs = np.flatnonzero(present)
    ri = (np.cumsum(present) - 1)[run]
    nr = len(runs)
    n = t.n[sel].astype(np.float64)
    # each value set's cell in a run's confusion counts (the last column: no prediction)
    cell = c.truth * (k + 1) + np.where(c.pred < 0, k, c.pred)
    # entries that do not count weigh 0: quicker than leaving them out, and the same sums
    cm = per_run(ri * (k * (k + 1)) + cell[sets], n * c.scored[sets], nr * k * (k + 1))
    cm = cm.astype(np.uint64).reshape(nr, k, k + 1)
    truth_counts = per_run(ri * k + truth, n, nr * k).reshape(nr, k)
    statuses = t.values[STATUS]
    by_status = per_run(ri * len(statuses) + t.sets[:, STATUS][sets], n, nr * len(statuses))
    # the statuses in the order rows list them, and their columns in `by_status`
    shown = [s for s in table.STATUSES if s in statuses]
    by_status = by_status.reshape(nr, len(statuses))[:, [statuses.index(s) for s in shown]]
    return _Counts(
        runs=runs.tolist(),
        cm=cm,
        truth=truth_counts,
        total=truth_counts.sum(axis=1).tolist(),
        answered=per_run(ri, n * (c.pred >= 0)[sets], nr).tolist(),
        scored=cm.sum(axis=(1, 2)).tolist(),
        status=[{s: x for s, x in zip(shown, row, strict=True) if x} for row in by_status.tolist()],
    )


def _score_dataset(
    ds: datasets.Dataset,
    t: Tallied,
    sel: np.ndarray,
    c: CodedSets,
    spec: RuleSpec,
    name: list[str],
    settings: list[tuple[Any, ...]],
) -> list[tuple[int, dict[str, Any], np.ndarray]]:
    """Rows of the runs of one dataset from the entries `sel` of the tally, with each run's
    row in the tally and its confusion counts."""
    got = _count(t, sel, c, len(ds.score_classes))
    has = np.flatnonzero(np.asarray(got.scored) > 0)
    m: dict[str, Any] = _core.metrics_from_confusions(got.cm[has]) if has.size else {}
    rows = _rows(ds, spec, got, _percent(m, ds.metric), name, settings)
    return list(zip(got.runs, rows, got.cm, strict=True))


def _rows(
    ds: datasets.Dataset,
    spec: RuleSpec,
    got: _Counts,
    metrics: dict[str, list[Any]],
    name: list[str],
    settings: list[tuple[Any, ...]],
) -> list[dict[str, Any]]:
    """The rows of one dataset's runs from their counts, names and `SETTING`s (both by row in
    the tally's runs); `metrics` (in percent) hold the runs with something scored alone."""
    classes = ds.score_classes
    head = {"dataset": ds.key, "task": str(ds.task), "metric": ds.metric}
    rules = str(spec.name)
    shown = ("value", "acc", "uar", "waf", "macro_f1", "recall")
    found = zip(*(metrics.get(k, ()) for k in shown), strict=True)
    columns = zip(
        [name[r] for r in got.runs],
        [settings[r] for r in got.runs],
        got.total,
        got.answered,
        got.scored,
        got.status,
        baselines_of(got.truth, ds),
        strict=True,
    )
    rows = []
    for run, setting, nt, na, ns, counts, (majority, random) in columns:
        if ns:
            value, acc, uar, waf, f1, recall = next(found)
            per_class = dict(zip(classes, recall, strict=True))
            part = {"acc": acc, "uar": uar, "waf": waf, "macro_f1": f1, "per_class": per_class}
        else:
            value, part = None, {"per_class": dict.fromkeys(classes)}
        model, template, frames, color, modality, repeat, synthetic = setting
        paper = paper_numbers(ds.key, str(run or ""), template, frames, color, modality)
        rows.append(
            {
                "run": run,
                **head,
                "value": value,
                "n_scored": ns,
                "n_total": nt,
                "coverage": (na / nt * 100) if nt else None,
                "rules": rules,
                **part,
                "majority": majority,
                "random": random,
                **paper_columns(paper, value),
                "status_counts": counts,
                "ci_low": None,
                "ci_high": None,
                "model": model,
                "template": template,
                "frames": frames,
                "color": color,
                "modality": modality,
                "repeat": repeat,
                **flags(counts, synthetic),
            }
        )
    return rows


#: the metrics a row gives in percent
PERCENT = ("acc", "war", "uar", "waf", "macro_f1", "recall")


def _percent(m: dict[str, Any], metric: str) -> dict[str, list[Any]]:
    """The metrics of a dataset's runs in percent, as Python floats (NaN recall as None)."""
    if not m:
        return {}
    got = {k: (np.asarray(m[k], dtype=np.float64) * 100).tolist() for k in PERCENT}
    got["value"] = got[METRIC_KEY[metric]]
    recall = got["recall"]
    nan_rows = np.isnan(np.asarray(m["recall"], dtype=np.float64)).any(axis=1)
    for i in np.flatnonzero(nan_rows).tolist():
        recall[i] = [None if x != x else x for x in recall[i]]
    return got


def score_frame(
    df: pl.DataFrame,
    rules: RuleSet | str = rule_sets.DEFAULT,
    extra_synonyms: list[tuple[str, str]] | None = None,
) -> ScoreResult:
    """Scores an in-memory predictions table (already checked for repeated runs)."""
    if df.height == 0:
        return ScoreResult([], [])
    return score_sources([in_memory(df)], rules, extra_synonyms, check_duplicates=False)
