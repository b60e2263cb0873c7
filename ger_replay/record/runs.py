"""Run folders as a source of the predictions table: `ger-replay score RUN_DIR` (or a folder of
runs) parses the raw answers in the cassettes at score time, with the current parser.

Per sample, the calls that sent it are taken in cassette order; the first whose answer qualifies
gives its ranking (docs/run-format.md, "Scoring a run"). Importing this module registers the
source with `ger_replay.score.sources`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ger_replay.errors import GerReplayError, InputError
from ger_replay.protocol import datasets
from ger_replay.record import cassette_read, journal, rundir
from ger_replay.score import sources, table

SOURCE = "cassettes"


def parse_many(texts: list[str], n_items: list[int], labels: Sequence[str]) -> list[Any]:
    """The answer parser's batch form (parallel, in Rust)."""
    from ger_replay import parse_responses

    return list(parse_responses(texts, n_items, list(labels)))


@dataclass
class _Call:
    samples: list[str]
    status: str  # parse status, or "rejected" (HTTP 400)
    result: int  # index into the parse results, -1 when not parsed


def _read_calls(run_dir: Path, labels: Sequence[str]) -> tuple[list[_Call], list[Any]]:
    folder = run_dir / rundir.CASSETTES
    files = sorted(folder.glob("b*.json")) if folder.is_dir() else []
    calls: list[_Call] = []
    texts: list[str] = []
    counts: list[int] = []
    for f in files:
        metas, responses = cassette_read.read_raw(f)
        for m, r in zip(metas, responses, strict=True):
            samples = [str(s) for s in m["samples"]]
            try:
                code = int(r["status"]["code"])
            except (KeyError, TypeError, ValueError):
                raise InputError("an interaction without a response status", f) from None
            if code == 400:
                calls.append(_Call(samples, "rejected", -1))
                continue
            text = cassette_read.answer_text(r)
            if text is None:
                calls.append(_Call(samples, table.UNPARSEABLE, -1))
                continue
            calls.append(_Call(samples, "", len(texts)))
            texts.append(text)
            counts.append(len(samples))
    results = parse_many(texts, counts, labels) if texts else []
    for c in calls:
        if c.result >= 0:
            c.status = str(results[c.result].status)
    return calls, results


def _failed_reasons(run_dir: Path, errors: list[GerReplayError]) -> dict[str, str]:
    """Batch id -> why it was given up, from the journal (an unreadable journal is reported,
    and scoring goes on: the cassettes hold the answers)."""
    try:
        events = journal.read(run_dir / rundir.JOURNAL)
    except GerReplayError as e:
        errors.append(e)
        return {}
    out: dict[str, str] = {}
    for e in events:
        if e.get("event") == "batch_failed":
            out[str(e.get("batch"))] = str(e.get("reason", "gave up"))
        elif e.get("event") == "batch_done":
            out.pop(str(e.get("batch")), None)
    return out


def _ground_truth(run_dir: Path, meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's labels.csv, or, for a run shared without it (`pack --no-labels`), the ground
    truth given to `load(..., labels=...)` for the samples of its `sample_order`."""
    if (run_dir / rundir.LABELS_CSV).exists():
        return rundir.read_labels(run_dir)
    given = sources.given_labels()
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
    return [(sid, given[sid]) for sid in order]


def load_run(run_dir: Path) -> sources.Loaded:
    """One run folder as predictions-table rows."""
    meta = rundir.read_meta(run_dir)
    try:
        ds = datasets.get(meta["dataset"])
    except datasets.UnknownDataset as e:
        raise InputError(str(e), run_dir / rundir.RUN_JSON) from None
    labels = [str(x) for x in meta.get("labels") or ds.labels]
    rows = _ground_truth(run_dir, meta)
    index = {sid: i for i, (sid, _) in enumerate(rows)}
    errors: list[GerReplayError] = []
    calls, results = _read_calls(run_dir, labels)

    n = len(rows)
    ranking: list[list[str] | None] = [None] * n
    pred: list[str | None] = [None] * n
    invented: list[list[str]] = [[] for _ in range(n)]
    status = [table.UNANSWERED] * n
    attempts = [0] * n
    reason: list[str | None] = ["no recorded call"] * n
    done = [False] * n
    unknown: set[str] = set()
    for c in calls:
        for pos, sid in enumerate(c.samples):
            i = index.get(sid)
            if i is None:
                unknown.add(sid)
                continue
            if done[i]:
                continue
            attempts[i] += 1
            if c.status == table.OK:
                r = results[c.result]
                ranking[i] = list(r.rankings[pos])
                invented[i] = list(r.invented[pos])
                pred[i] = r.top1[pos]
                status[i] = table.OK if pred[i] is not None else table.NO_CANDIDATE
                reason[i] = None if pred[i] is not None else "no candidate label in the ranking"
                done[i] = True
            else:
                st = table.REFUSED if c.status == "rejected" else c.status
                status[i] = st
                reason[i] = (
                    "rejected by the endpoint (HTTP 400)" if c.status == "rejected" else st
                ) + (" when asked alone" if len(c.samples) == 1 else "")
    if unknown:
        errors.append(
            InputError(
                f"cassettes answer {len(unknown)} sample(s) missing from labels.csv "
                f"(first: {sorted(unknown)[0]})",
                run_dir,
            )
        )
    failed = _failed_reasons(run_dir, errors)
    if failed:
        for b, ids in rundir.run_batches(meta):
            if b in failed:
                for sid in ids:
                    i = index.get(sid)
                    if i is not None and attempts[i] == 0:
                        reason[i] = failed[b]
    run_meta = {
        "run": str(meta.get("name") or run_dir.name),
        "dataset": ds.key,
        "model": meta.get("model"),
        "template": meta.get("template"),
        "frames": meta.get("frames"),
        "color": meta.get("color"),
        "modality": meta.get("modality"),
        "repeat": meta.get("repeat"),
        "source": SOURCE,
    }
    df = table.run_frame(
        run_meta,
        [sid for sid, _ in rows],
        [gt for _, gt in rows],
        ranking,
        pred,
        status,
        invented=invented,
        attempts=attempts,
    )
    return df.with_columns(pl.Series("reason", reason, dtype=pl.String)), errors


def is_run(path: Path) -> bool:
    return rundir.is_run_dir(path)


sources.register(sources.Source("run-folder", is_run, load_run), first=True)
