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
from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import table
from ger_replay.io.scan import Lazy, in_memory
from ger_replay.protocol import datasets
from ger_replay.protocol import rulesets as rule_sets
from ger_replay.protocol.rules import Rules
from ger_replay.protocol.rulesets import Pick, RuleSet, RuleSpec, get
from ger_replay.score.baselines import METRIC_KEY, baselines, reference_columns
from ger_replay.score.coding import GT, PRED, STATUS, CodedSets, code_sets
from ger_replay.score.flags import flags
from ger_replay.score.tally import Tallied, combine, tally

ROW_META = ("model", "template", "frames", "color", "modality", "repeat")


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


def _tally_all(
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
        except (pl.exceptions.PolarsError, OSError, ValueError) as e:
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
    good, parts, duplicated = _tally_all(
        srcs, spec.pick is Pick.FIRST_LABEL, check_duplicates, errors
    )
    if not parts:
        return ScoreResult([], errors)
    t = combine(parts)
    del parts
    failed: dict[int, str] = {}
    if duplicated:
        clash = sorted(duplicated)
        said = "run(s) given more than once, or with duplicate samples"
        errors.append(InputError(f"{said}: {', '.join(clash)}"))
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
    keep = [c for c in (*table.RUN_COLUMNS, "synthetic") if c in t.runs.columns]
    meta = t.runs.select(keep).to_dicts()
    ds_keys = t.runs.get_column("dataset").to_list()
    order = list(dict.fromkeys(ds_keys))
    ds_of_run = np.array([order.index(k) for k in ds_keys], dtype=np.int64)
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
        c = code_sets(ds, Rules(ds, extra_synonyms), t.values, t.sets, np.unique(t.set[sel]), spec)
        _bad_values(t, sel, c, bad)
        coded.append((ds, sel, c))
    _name_failures(srcs, t, name, bad, failed)
    rows_by_run: dict[int, dict[str, Any]] = {}
    confusion: dict[str, np.ndarray] = {}
    gone = np.array(sorted(failed), dtype=np.int64)
    for ds, sel, c in coded:
        sel = sel[~np.isin(t.run[sel], gone)]
        for r, row, cm in _score_dataset(ds, t, sel, c, spec, name, meta):
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


def _per_run(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Sums of `weights` by `index` (exact: the weights are counts far below 2^53)."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.int64)


def _score_dataset(
    ds: datasets.Dataset,
    t: Tallied,
    sel: np.ndarray,
    c: CodedSets,
    spec: RuleSpec,
    name: list[str],
    meta: list[dict[str, Any]],
) -> list[tuple[int, dict[str, Any], np.ndarray]]:
    """Rows of the runs of one dataset from the entries `sel` of the tally."""
    classes = Rules(ds).classes
    k = len(classes)
    truth = c.truth[t.set[sel]]
    sel = sel[truth >= 0]  # left out: a sentiment score of 0
    truth = truth[truth >= 0]
    runs, ri = np.unique(t.run[sel], return_inverse=True)
    n = t.n[sel].astype(np.float64)
    pc = c.pred[t.set[sel]]
    sc = c.scored[t.set[sel]]
    cells = (ri * k + truth) * (k + 1) + np.where(pc < 0, k, pc)
    size = len(runs) * k * (k + 1)
    cm = _per_run(cells[sc], n[sc], size).astype(np.uint64).reshape(len(runs), k, k + 1)
    truth_counts = _per_run(ri * k + truth, n, len(runs) * k).reshape(len(runs), k)
    n_total = _per_run(ri, n, len(runs))
    n_answered = _per_run(ri[pc >= 0], n[pc >= 0], len(runs))
    n_scored = _per_run(ri[sc], n[sc], len(runs))
    statuses = t.values[STATUS]
    st = t.sets[t.set[sel], STATUS]
    by_status = _per_run(ri * len(statuses) + st, n, len(runs) * len(statuses))
    by_status = by_status.reshape(len(runs), len(statuses))
    has = np.flatnonzero(n_scored > 0)
    m: dict[str, Any] = _core.metrics_from_confusions(cm[has]) if has.size else {}
    slot = dict(zip(has.tolist(), range(has.size), strict=True))
    # columns of `by_status` in the order rows list them
    st_cols = [(s, statuses.index(s)) for s in table.STATUSES if s in statuses]
    per_status = by_status[:, [j for _, j in st_cols]].tolist()
    metrics = _percent(m, ds.metric)
    columns = zip(
        runs.tolist(),
        truth_counts.tolist(),
        [{s: n for (s, _), n in zip(st_cols, row, strict=True) if n} for row in per_status],
        n_total.tolist(),
        n_answered.tolist(),
        n_scored.tolist(),
        strict=True,
    )
    out = []
    for i, (r, tc, counts, nt, na, ns) in enumerate(columns):
        row = _row(ds, classes, spec, name[r], (nt, na, ns), metrics, slot.get(i))
        row["majority"], row["random"] = baselines(tc, ds)
        row.update(reference_columns({**meta[r], "dataset": ds.key}, row["value"]))
        row["status_counts"] = counts
        row["ci_low"] = row["ci_high"] = None
        row.update({key: meta[r].get(key) for key in ROW_META})
        row.update(flags(counts, meta[r].get("synthetic")))
        out.append((r, row, cm[i]))
    return out


def _row(
    ds: datasets.Dataset,
    classes: Sequence[str],
    spec: RuleSpec,
    run: str,
    n: tuple[int, int, int],
    metrics: dict[str, list[Any]],
    j: int | None,
) -> dict[str, Any]:
    """A run's row up to its per-class recall: `n` is (total, answered, scored); `j` the run's
    place in `metrics` (None: nothing scored)."""
    nt, na, ns = n
    row: dict[str, Any] = {
        "run": run,
        "dataset": ds.key,
        "task": str(ds.task),
        "metric": ds.metric,
        "value": None if j is None else metrics["value"][j],
        "n_scored": ns,
        "n_total": nt,
        "coverage": (na / nt * 100) if nt else None,
        "rules": str(spec.name),
    }
    if j is None:
        row["per_class"] = dict.fromkeys(classes)
        return row
    for k in ("acc", "uar", "waf", "macro_f1"):
        row[k] = metrics[k][j]
    row["per_class"] = dict(zip(classes, metrics["recall"][j], strict=True))
    return row


#: the metrics a row gives in percent
PERCENT = ("acc", "war", "uar", "waf", "macro_f1", "recall")


def _percent(m: dict[str, Any], metric: str) -> dict[str, list[Any]]:
    """The metrics of a dataset's runs in percent, as Python floats (NaN recall as None)."""
    if not m:
        return {}
    got = {k: (np.asarray(m[k], dtype=np.float64) * 100).tolist() for k in PERCENT}
    got["value"] = got[METRIC_KEY[metric]]
    got["recall"] = [[None if x != x else x for x in r] for r in got["recall"]]
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
