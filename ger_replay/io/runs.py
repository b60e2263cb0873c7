"""Run folders read into the predictions table: `ger-replay score RUN_DIR` (or a folder of runs)
parses the raw answers in the cassettes at score time, with the current parser.

Per sample, the calls that sent it are taken in cassette order; the first whose answer qualifies
gives its ranking (docs/run-format.md, "Scoring a run"). The journal and the recorded responses
are read once and kept with the rows (`RecordedCalls`), so the analyses of calls and cost need
not read the folder again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import cassettes, journal, rundir, table
from ger_replay.parsing import parse_responses
from ger_replay.protocol import datasets
from ger_replay.protocol.status import Status

SOURCE = "cassettes"
#: A call's outcome when the endpoint rejected it (HTTP 400).
REJECTED = Status.REJECTED.value


def parse_many(texts: list[str], n_items: list[int], labels: Sequence[str]) -> list[Any]:
    """The answer parser's batch form (parallel, in Rust)."""
    return list(parse_responses(texts, n_items, list(labels)))


@dataclass
class RecordedCalls:
    """What a run folder recorded about its calls, as read while loading it: the journal's
    events and the recorded responses of every cassette (`cassettes/<file>` -> responses)."""

    run: str
    run_dir: Path
    events: list[dict[str, Any]]
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: the run's run.json (its price among others)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRead:
    """One run folder read: its rows, the problems found, its metadata and its calls (None when
    the journal could not be read)."""

    table: pl.DataFrame
    errors: list[GerReplayError]
    meta: dict[str, Any]
    calls: RecordedCalls | None


@dataclass
class _Call:
    samples: list[str]
    status: str  # parse status, or "rejected" (HTTP 400)
    result: int  # index into the parse results, -1 when not parsed


def _read_cassettes(
    run_dir: Path,
) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """(name, call metadata, responses) of every cassette of the run, in file order."""
    folder = run_dir / rundir.CASSETTES
    if folder.is_symlink():
        raise InputError("a symbolic link: refused (only regular folders are read)", folder)
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [(f.name, *cassettes.read_raw(f)) for f in files]


def _read_calls(
    recorded: Sequence[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]],
    run_dir: Path,
    labels: Sequence[str],
) -> tuple[list[_Call], list[Any]]:
    calls: list[_Call] = []
    texts: list[str] = []
    counts: list[int] = []
    for name, metas, responses in recorded:
        if not name.startswith("b"):
            continue
        f = run_dir / rundir.CASSETTES / name
        for m, r in zip(metas, responses, strict=True):
            samples = [str(s) for s in m["samples"]]
            try:
                code = int(r["status"]["code"])
            except (KeyError, TypeError, ValueError):
                raise InputError("an interaction without a response status", f) from None
            if code == 400:
                calls.append(_Call(samples, REJECTED, -1))
                continue
            text = cassettes.answer_text(r)
            if text is None:
                calls.append(_Call(samples, Status.UNPARSEABLE, -1))
                continue
            calls.append(_Call(samples, "", len(texts)))
            texts.append(text)
            counts.append(len(samples))
    results = parse_many(texts, counts, labels) if texts else []
    for c in calls:
        if c.result >= 0:
            c.status = str(results[c.result].status)
    return calls, results


def _failed_reasons(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Batch id -> why it was given up, from the journal's events."""
    out: dict[str, str] = {}
    for e in events:
        if e.get("event") == "batch_failed":
            out[str(e.get("batch"))] = str(e.get("reason", "gave up"))
        elif e.get("event") == "batch_done":
            out.pop(str(e.get("batch")), None)
    return out


def _ground_truth(
    run_dir: Path, meta: dict[str, Any], given: Mapping[str, str] | None
) -> list[tuple[str, str]]:
    """The run's labels.csv, or, for a run shared without it (`pack --no-labels`), the ground
    truth given to `load(..., labels=...)` for the samples of its `sample_order`."""
    if (run_dir / rundir.LABELS_CSV).exists():
        return rundir.read_labels(run_dir)
    if given is None:
        raise InputError(
            "missing labels.csv (a run shared without labels: give its ground truth with "
            "--labels FILE, a CSV with sample_id and gt)",
            run_dir,
        )
    order = [str(x) for x in meta.get("sample_order") or []]
    missing = [sid for sid in order if sid not in given]
    if not order or missing:
        raise InputError(
            f"the ground truth given with --labels lacks {len(missing) or 'the'} sample(s) of "
            f"this run (e.g. {(missing or ['its sample_order'])[0]!r})",
            run_dir,
        )
    _check_given(given, order, meta)
    return [(sid, given[sid]) for sid in order]


def _check_given(given: Mapping[str, str], order: Sequence[str], meta: Mapping[str, Any]) -> None:
    """A label of the given ground truth that the run's dataset does not know, at its line."""
    from ger_replay.protocol.rules import Rules, UnknownLabel

    try:
        rules = Rules(datasets.get(str(meta.get("dataset"))))
    except datasets.UnknownDataset:
        return
    where: Mapping[str, tuple[str, int]] = getattr(given, "where", {})
    for sid in order:
        try:
            rules.truth(given[sid])
        except UnknownLabel as e:
            path, line = where.get(sid, (None, None))
            raise InputError(f"sample {sid!r}: {e}", path, line) from None


@dataclass
class _Outcomes:
    """Per-sample columns of one run, filled call by call."""

    n: int
    ranking: list[list[str] | None] = field(default_factory=list)
    pred: list[str | None] = field(default_factory=list)
    invented: list[list[str]] = field(default_factory=list)
    hedged: list[bool | None] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    reason: list[str | None] = field(default_factory=list)
    done: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.n
        self.ranking, self.pred = [None] * n, [None] * n
        self.invented = [[] for _ in range(n)]
        self.hedged = [None] * n
        self.status = [Status.UNANSWERED.value] * n
        self.attempts = [0] * n
        self.reason = ["no recorded call"] * n
        self.done = [False] * n

    def take(self, c: _Call, results: Sequence[Any], index: Mapping[str, int]) -> set[str]:
        """Applies one call to the samples it sent; returns the ids not in the run's labels."""
        unknown: set[str] = set()
        for pos, sid in enumerate(c.samples):
            i = index.get(sid)
            if i is None:
                unknown.add(sid)
                continue
            if self.done[i]:
                continue
            self.attempts[i] += 1
            if c.status == Status.OK:
                r = results[c.result]
                self.ranking[i] = list(r.rankings[pos])
                self.invented[i] = list(r.invented[pos])
                self.hedged[i] = bool(r.hedged[pos])
                self.pred[i] = r.top1[pos]
                answered = self.pred[i] is not None
                self.status[i] = (Status.OK if answered else Status.NO_CANDIDATE).value
                self.reason[i] = None if answered else "no candidate label in the ranking"
                self.done[i] = True
            else:
                st = Status.REFUSED.value if c.status == REJECTED else str(c.status)
                self.status[i] = st
                self.reason[i] = (
                    "rejected by the endpoint (HTTP 400)" if c.status == REJECTED else st
                ) + (" when asked alone" if len(c.samples) == 1 else "")
        return unknown


def _read_journal(run_dir: Path, errors: list[GerReplayError]) -> list[dict[str, Any]] | None:
    """The journal's events; an unreadable journal is reported, and scoring goes on (the
    cassettes hold the answers)."""
    try:
        return journal.read(run_dir / rundir.JOURNAL)
    except GerReplayError as e:
        errors.append(e)
        return None


def read_run(run_dir: Path, labels: Mapping[str, str] | None = None) -> RunRead:
    """One run folder: its predictions-table rows, what it recorded about its calls, and the
    problems found. `labels` is the ground truth of a run shared without labels.csv."""
    meta = rundir.read_meta(run_dir)
    try:
        ds = datasets.get(meta["dataset"])
    except datasets.UnknownDataset as e:
        raise InputError(str(e), run_dir / rundir.RUN_JSON) from None
    candidates = [str(x) for x in meta.get("labels") or ds.labels]
    rows = _ground_truth(run_dir, meta, labels)
    index = {sid: i for i, (sid, _) in enumerate(rows)}
    errors: list[GerReplayError] = []
    recorded = _read_cassettes(run_dir)
    calls, results = _read_calls(recorded, run_dir, candidates)
    out = _Outcomes(len(rows))
    unknown: set[str] = set()
    for c in calls:
        unknown |= out.take(c, results, index)
    if unknown:
        errors.append(
            InputError(
                f"cassettes answer {len(unknown)} sample(s) missing from labels.csv "
                f"(first: {sorted(unknown)[0]})",
                run_dir,
            )
        )
    events = _read_journal(run_dir, errors)
    _add_failed_reasons(out, meta, index, _failed_reasons(events or []))
    name = str(meta.get("name") or run_dir.name)
    df = table.run_frame(
        _run_meta(meta, name, ds.key),
        [sid for sid, _ in rows],
        [gt for _, gt in rows],
        out.ranking,
        out.pred,
        out.status,
        invented=out.invented,
        attempts=out.attempts,
        hedged=out.hedged,
    )
    df = df.with_columns(pl.Series("reason", out.reason, dtype=pl.String))
    recorded_calls = None
    if events is not None:
        responses = {f"{rundir.CASSETTES}/{n}": r for n, _, r in recorded}
        recorded_calls = RecordedCalls(name, run_dir, events, responses, dict(meta))
    return RunRead(df, errors, meta, recorded_calls)


def _add_failed_reasons(
    out: _Outcomes, meta: Mapping[str, Any], index: Mapping[str, int], failed: Mapping[str, str]
) -> None:
    """Samples never sent, of a batch given up, take the journal's reason."""
    if not failed:
        return
    for b, ids in rundir.run_batches(meta):
        if b in failed:
            for sid in ids:
                i = index.get(sid)
                if i is not None and out.attempts[i] == 0:
                    out.reason[i] = failed[b]


def _run_meta(meta: Mapping[str, Any], name: str, dataset: str) -> dict[str, Any]:
    return {
        "run": name,
        "dataset": dataset,
        "model": meta.get("model"),
        "template": meta.get("template"),
        "frames": meta.get("frames"),
        "color": meta.get("color"),
        "modality": meta.get("modality"),
        "repeat": meta.get("repeat"),
        "source": SOURCE,
    }


def is_run(path: Path) -> bool:
    return rundir.is_run_dir(path)
