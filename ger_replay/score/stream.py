"""Scoring as a polars lazy pipeline: memory grows with the number of runs, not of predictions.

Each source (a scanned file, or an in-memory table) is read by streaming queries:

1. runs: the first row of each run (its dataset and metadata), in order of first appearance;
2. tally: one row per distinct (run, gt, status, pred, first label of the ranking) with its
   count (the lenient rule set does not read the ranking);
3. duplicates: a 64-bit hash of (run, sample_id) per row, sorted, finds runs that hold a sample
   twice; the few colliding hashes are confirmed exactly.

Labels are then coded once per dataset over the distinct values (folding, binarizing), the rule
set is applied as polars expressions (`ger_replay.score.rulesets`), per-run confusion counts come
from a group-by, and the metrics from the counts in one Rust call per dataset. The values are
those of scoring each run on its own (`scoring.code_run` and `scoring.score_coded`), bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

import ger_replay._core as _core
from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import table
from ger_replay.io.scan import Lazy, duplicated_runs, in_memory
from ger_replay.protocol import datasets
from ger_replay.protocol import rulesets as rule_sets
from ger_replay.protocol.rules import Rules, UnknownLabel
from ger_replay.protocol.rulesets import Pick, RuleSet, RuleSpec, get
from ger_replay.score import rulesets
from ger_replay.score.baselines import METRIC_KEY, baselines, reference_columns
from ger_replay.score.flags import flags

META = [c for c in table.RUN_COLUMNS if c != "run"]
KEYS = ["run", "gt", "status", "pred"]
ROW_META = ("model", "template", "frames", "color", "modality", "repeat")
STREAMING = "streaming"


@dataclass
class ScoreResult:
    rows: list[dict[str, Any]]
    errors: list[GerReplayError]
    #: run -> its confusion counts under the rule set (`C x (C + 1)`, the last column for no
    #: prediction): all the bootstrap needs, so intervals never go back to the predictions
    confusion: dict[str, np.ndarray] = field(default_factory=dict)


def _read_error(src: Lazy, e: Exception) -> InputError:
    return InputError(f"cannot read the predictions table: {e}", src.path)


def tally(src: Lazy, need_first: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(runs, counts) of one source: each run's first row, and the grouped counts (string keys).
    The parts of a folder are grouped one at a time (the state of a group-by grows with its
    keys), then merged while the keys are still categorical codes."""
    runs, counts = _tally(src, need_first)
    return runs, counts.with_columns(pl.col(*KEYS, "first").cast(pl.String))


def _tally(src: Lazy, need_first: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    if src.parts:
        got = [_tally(Lazy(p, src.path, src.columns), need_first) for p in src.parts]
        runs = pl.concat([r for r, _ in got]).unique("run", keep="first", maintain_order=True)
        counts = pl.concat([c for _, c in got])
        del got
        return runs, counts.group_by(*KEYS, "first").agg(pl.col("n").sum())
    lf = src.frame
    syn = pl.col("synthetic") if "synthetic" in src.columns else pl.lit(None, pl.Boolean)
    runs = lf.select("run", *META, syn.cast(pl.Boolean).alias("synthetic")).unique(
        subset="run", keep="first", maintain_order=True
    )
    runs = runs.collect(engine=STREAMING)
    # `first`: the file's own where it has one (`scan.conform`), else decoded from `ranking`
    first = pl.coalesce("first", "pred") if need_first else pl.lit(None, pl.String)
    return runs, count_keys(lf, first.alias("first"))


def count_keys(lf: pl.LazyFrame, first: pl.Expr) -> pl.DataFrame:
    """Rows per distinct (run, gt, status, pred, first label): a streaming group-by, the keys
    as categoricals (each distinct string held once, the group-by's state holds integer codes:
    about 30% less memory than grouping the strings)."""
    keys = [pl.col(k).cast(pl.Categorical) for k in KEYS] + [first.cast(pl.Categorical)]
    return lf.group_by(*keys).agg(pl.len().cast(pl.Int64).alias("n")).collect(engine=STREAMING)


@dataclass
class _Codes:
    """How one dataset's distinct values code, and the values that are errors."""

    truth: dict[str | None, int]  # -2: left out (sentiment score 0)
    cand: dict[str, int]
    first: dict[str, int]
    bad_truth: dict[str | None, str]
    bad_pred: dict[str, str]


def _codes(ds: datasets.Dataset, lab: Rules, counts: pl.DataFrame) -> _Codes:
    c = _Codes({}, {}, {}, {}, {})
    for gt in counts.get_column("gt").unique().to_list():
        try:
            t = lab.truth(gt)
        except UnknownLabel as e:
            c.bad_truth[gt] = str(e)
            continue
        c.truth[gt] = -2 if t is None else lab.code(t)
    for p in counts.get_column("pred").drop_nulls().unique().to_list():
        cand = lab.space.canonical(p)
        if cand is None:
            c.bad_pred[p] = f"prediction {p!r} is not a candidate of {ds.key}"
        else:
            c.cand[p] = lab.code(lab.binarize(cand))
    firsts = counts.get_column("first").drop_nulls().unique().to_list()
    for f, cand in zip(firsts, lab.space.canonical_many(firsts), strict=True):
        if cand is not None:
            c.first[f] = lab.code(lab.binarize(cand))
    return c


def _lookup(col: str, mapping: Mapping[Any, int], out: str) -> pl.DataFrame:
    return pl.DataFrame(
        {col: list(mapping), out: list(mapping.values())},
        schema={col: pl.String, out: pl.Int64},
    )


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


def score_sources(
    srcs: Sequence[Lazy],
    rules: RuleSet | str = rule_sets.DEFAULT,
    extra_synonyms: list[tuple[str, str]] | None = None,
    check_duplicates: bool = True,
) -> ScoreResult:
    """Scores every run of the sources under a rule set. A source that cannot be read is an
    error naming it; a run that fails is an error naming it; the rest are scored."""
    spec = get(rules)
    need_first = spec.pick is Pick.FIRST_LABEL
    errors: list[GerReplayError] = []
    runs_parts: list[pl.DataFrame] = []
    count_parts: list[pl.DataFrame] = []
    good: list[Lazy] = []
    # Runs are numbered in order of first appearance; the counts carry the number, not the name.
    run_id: dict[str, int] = {}
    for src in srcs:
        try:
            runs, counts = tally(src, need_first)
        except (pl.exceptions.PolarsError, OSError, ValueError) as e:
            errors.append(_read_error(src, e))
            continue
        bad = [s for s in counts.get_column("status").unique().to_list() if s not in table.STATUSES]
        if bad:
            errors.append(InputError(f"unknown status value(s) {sorted(map(str, bad))}", src.path))
            continue
        good.append(src)
        for r in runs.get_column("run").to_list():
            run_id.setdefault(r, len(run_id))
        runs_parts.append(runs)
        count_parts.append(
            counts.select(
                pl.col("run").replace_strict(run_id, return_dtype=pl.UInt32).alias("rid"),
                *KEYS[1:],
                "first",
                "n",
            )
        )
        del counts
    if not runs_parts:
        return ScoreResult([], errors)
    runs = pl.concat(runs_parts).unique(subset="run", keep="first", maintain_order=True)
    runs = runs.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("rid"))
    counts = pl.concat(count_parts)
    del count_parts
    if len(runs_parts) > 1:
        counts = counts.group_by("rid", *KEYS[1:], "first").agg(pl.col("n").sum())
    if check_duplicates:
        clash = duplicated_runs(good, [p.get_column("run").to_list() for p in runs_parts])
        if clash:
            errors.append(
                InputError(
                    f"run(s) given more than once, or with duplicate samples: {', '.join(clash)}"
                )
            )
            gone = [run_id[r] for r in clash if r in run_id]
            runs = runs.filter(~pl.col("run").is_in(clash))
            counts = counts.filter(~pl.col("rid").is_in(gone))
    rows, run_errors, confusion = _score_counts(good, runs, counts, spec, extra_synonyms)
    return ScoreResult(rows, errors + run_errors, confusion)


def _score_counts(
    srcs: Sequence[Lazy],
    runs: pl.DataFrame,
    counts: pl.DataFrame,
    spec: RuleSpec,
    extra_synonyms: list[tuple[str, str]] | None,
) -> tuple[list[dict[str, Any]], list[GerReplayError], dict[str, np.ndarray]]:
    """Rows of the runs (`runs`: their first rows, with `rid`) from their grouped counts (keyed
    by `rid`), one dataset at a time."""
    name = dict(
        zip(runs.get_column("rid").to_list(), runs.get_column("run").to_list(), strict=True)
    )
    keep = [c for c in (*table.RUN_COLUMNS, "synthetic") if c in runs.columns]
    meta = {
        r[-1]: {**dict(zip(keep, r, strict=False))} for r in runs.select(*keep, "rid").iter_rows()
    }
    failed: dict[int, str] = {}
    bad: dict[str, list[tuple[int, Any, str]]] = {"gt": [], "pred": []}
    parts = counts.join(runs.select("rid", "dataset"), on="rid", how="inner").partition_by(
        "dataset", as_dict=True, maintain_order=True
    )
    del counts
    coded_parts = _code(parts, extra_synonyms, name, failed, bad)
    del parts
    # One error per run, in the order scoring a run alone finds them: truth, then prediction.
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
    rows_by_run: dict[int, dict[str, Any]] = {}
    confusion: dict[str, np.ndarray] = {}
    gone = list(failed)
    while coded_parts:
        ds, part = coded_parts.pop(0)
        part = part.filter(~pl.col("rid").is_in(gone)).pipe(rulesets.apply, spec.name)
        for rid, row, cm in _score_dataset(ds, part, spec, name, meta):
            rows_by_run[rid] = row
            confusion[name[rid]] = cm
        del part
    rows: list[dict[str, Any]] = []
    errors: list[GerReplayError] = []
    for rid in runs.get_column("rid").to_list():
        if rid in failed:
            errors.append(InputError(failed[rid]))
        elif rid in rows_by_run:
            rows.append(rows_by_run[rid])
        else:
            errors.append(InputError(f"run {name[rid]}: no scorable samples"))
    return rows, errors, confusion


def _code(
    parts: Mapping[tuple[Any, ...], pl.DataFrame],
    extra_synonyms: list[tuple[str, str]] | None,
    name: Mapping[int, str],
    failed: dict[int, str],
    bad: dict[str, list[tuple[int, Any, str]]],
) -> list[tuple[datasets.Dataset, pl.DataFrame]]:
    """Each dataset's counts with codes (`t`, `cand`, `first`, `answered`, `task`); runs of an
    unknown dataset go to `failed`, values that are errors to `bad`."""
    coded_parts: list[tuple[datasets.Dataset, pl.DataFrame]] = []
    for (key,), part in parts.items():
        try:
            ds = datasets.get(key)
        except datasets.UnknownDataset as e:
            for r in part.get_column("rid").unique().to_list():
                failed[r] = f"run {name[r]}: {e}"
            continue
        lab = Rules(ds, extra_synonyms)
        c = _codes(ds, lab, part)
        for col, found in (("gt", c.bad_truth), ("pred", c.bad_pred)):
            if found:
                hits = part.filter(pl.col(col).is_in(list(found), nulls_equal=True))
                for r, v in hits.select("rid", col).unique(maintain_order=True).iter_rows():
                    bad[col].append((r, v, found[v]))
        coded_parts.append(
            (
                ds,
                part.join(_lookup("gt", c.truth, "t"), on="gt", how="left", nulls_equal=True)
                .join(_lookup("pred", c.cand, "cand"), on="pred", how="left")
                .join(_lookup("first", c.first, "first_code"), on="first", how="left")
                .select(
                    "rid",
                    "status",
                    "t",
                    "cand",
                    pl.col("first_code").alias("first"),
                    "n",
                    rulesets.answered().alias("answered"),
                    pl.lit(str(ds.task)).alias("task"),
                )
                .filter(pl.col("t") >= 0),
            )
        )
    return coded_parts


def _score_dataset(
    ds: datasets.Dataset,
    part: pl.DataFrame,
    spec: RuleSpec,
    name: Mapping[int, str],
    meta: Mapping[int, Mapping[str, Any]],
) -> list[tuple[int, dict[str, Any], np.ndarray]]:
    """Rows of the runs of one dataset from their coded counts."""
    classes = Rules(ds).classes
    c = len(classes)
    per_run = (
        part.group_by("rid")
        .agg(
            pl.col("n").sum().alias("n_total"),
            pl.col("n").filter(pl.col("pred_code") >= 0).sum().alias("n_answered"),
            pl.col("n").filter(pl.col("scored")).sum().alias("n_scored"),
        )
        .sort("rid")
    )
    rids = per_run.get_column("rid").to_numpy()
    ri = np.searchsorted(rids, part.get_column("rid").to_numpy())
    t = part.get_column("t").to_numpy()
    n = part.get_column("n").to_numpy().astype(np.uint64)
    pc = part.get_column("pred_code").to_numpy()
    pc = np.where(pc < 0, c, pc)
    sc = part.get_column("scored").to_numpy()
    cm = np.zeros((len(rids), c, c + 1), dtype=np.uint64)
    np.add.at(cm, (ri[sc], t[sc], pc[sc]), n[sc])
    truth = np.zeros((len(rids), c), dtype=np.int64)
    np.add.at(truth, (ri, t), n.astype(np.int64))
    status_counts: dict[int, dict[str, int]] = {int(r): {} for r in rids}
    for rid, status, k in part.group_by("rid", "status").agg(pl.col("n").sum()).iter_rows():
        status_counts[rid][status] = int(k)
    n_scored = per_run.get_column("n_scored").to_numpy()
    has = np.flatnonzero(n_scored > 0)
    m: dict[str, Any] = _core.metrics_from_confusions(cm[has]) if has.size else {}
    slot = {int(i): j for j, i in enumerate(has)}
    mkey = METRIC_KEY[ds.metric]
    out = []
    for i, (rid, n_total, n_answered, n_sc) in enumerate(per_run.iter_rows()):
        row: dict[str, Any] = {
            "run": name[rid],
            "dataset": ds.key,
            "task": str(ds.task),
            "metric": ds.metric,
            "value": None,
            "n_scored": int(n_sc),
            "n_total": int(n_total),
            "coverage": (int(n_answered) / int(n_total) * 100) if n_total else None,
            "rules": str(spec.name),
        }
        j = slot.get(i)
        if j is not None:
            row["value"] = float(m[mkey][j]) * 100
            for k in ("acc", "uar", "waf", "macro_f1"):
                row[k] = float(m[k][j]) * 100
            row["per_class"] = {
                cls: (None if r != r else r * 100)
                for cls, r in zip(classes, (float(x) for x in m["recall"][j]), strict=True)
            }
        else:
            row["per_class"] = dict.fromkeys(classes)
        row["majority"], row["random"] = baselines(truth[i], ds)
        row.update(
            reference_columns({**meta[rid], "run": name[rid], "dataset": ds.key}, row["value"])
        )
        sc_counts = status_counts[rid]
        row["status_counts"] = {s: sc_counts[s] for s in table.STATUSES if s in sc_counts}
        row["ci_low"] = row["ci_high"] = None
        row.update({k: meta[rid].get(k) for k in ROW_META})
        row.update(flags(sc_counts, meta[rid].get("synthetic")))
        out.append((rid, row, cm[i]))
    return out


def score_frame(
    df: pl.DataFrame,
    rules: RuleSet | str = rule_sets.DEFAULT,
    extra_synonyms: list[tuple[str, str]] | None = None,
) -> ScoreResult:
    """Scores an in-memory predictions table (already checked for repeated runs)."""
    if df.height == 0:
        return ScoreResult([], [])
    return score_sources([in_memory(df)], rules, extra_synonyms, check_duplicates=False)
