"""Running the batches of a recording: one `BatchRunner` asks a batch with the calling strategy,
keeps each call in the batch's cassette and the journal, and counts what happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ger_replay.io import journal, rundir
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.settings import RequestSettings, Sample
from ger_replay.protocol.status import Status
from ger_replay.record import cassettes, cost, provenance, strategy
from ger_replay.record.client import (
    CallStopped,
    Client,
    RawCall,
    Transient,
    estimate_tokens,
)
from ger_replay.record.setup import REJECTED, answer_status, request_body

#: After a stop (Ctrl-C), how long calls in flight may take to finish and be recorded.
STOP_GRACE = 5.0


@dataclass
class Stats:
    """Counters for the progress bar and the summary; thread-safe increments."""

    batches_done: int = 0
    batches_failed: int = 0
    calls: int = 0
    replayed: int = 0
    refusals: int = 0
    failed_answers: int = 0
    retries: int = 0
    rate_limited: int = 0
    answered: int = 0
    unanswered: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: calls in flight abandoned after a stop's grace period (not recorded)
    abandoned: int = 0
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    @property
    def rate_per_min(self) -> float:
        dt = time.monotonic() - self.started
        return self.calls / dt * 60 if dt > 0 else 0.0


@dataclass
class RecordSummary:
    run_dir: Path
    batches: int
    batches_done: int
    batches_failed: int
    skipped: int
    stats: Stats
    errors: list[str] = field(default_factory=list)
    subset: dict[str, int] | None = None
    price: cost.Price | None = None
    notes: list[str] = field(default_factory=list)
    #: the signal that stopped the run (SIGINT, SIGTERM), if one did
    interrupted: int | None = None

    @property
    def complete(self) -> bool:
        return self.batches_done + self.skipped == self.batches


# ----------------------------------------------------------------------------- helpers


class Progress:
    def __init__(self, total: int, initial: int, stats: Stats, enabled: bool) -> None:
        self.stats = stats
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="batch", dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if self.bar is None:
            return
        s = self.stats
        self.bar.set_postfix(
            refusals=s.refusals, retries=s.retries, rpm=f"{s.rate_per_min:.0f}", refresh=False
        )
        self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class BatchRunner:
    """Runs the strategy for one batch: replays its own recorded calls, makes the rest live,
    rewrites its cassette after every call and journals everything."""

    def __init__(
        self,
        run_dir: Path,
        ds: Dataset,
        settings: RequestSettings,
        max_tries: int,
        by_id: Mapping[str, Sample],
        client: Client,
        log: journal.Journal,
        stats: Stats,
        stop: threading.Event,
        paid: Mapping[str, Mapping[tuple[Any, ...], Any]] | None = None,
    ) -> None:
        self.run_dir, self.ds, self.settings = run_dir, ds, settings
        self.max_tries, self.by_id = max_tries, by_id
        self.client, self.log, self.stats, self.stop = client, log, stats, stop
        #: responses the journal kept (batch -> call key -> record), served before paying again
        self.paid = paid or {}

    def _kept(
        self, batch: str, path: Path
    ) -> dict[tuple[tuple[str, ...], str, int], cassettes.Interaction]:
        """The calls of this batch already paid for: in its cassette, or (when the cassette
        write did not happen) in the journal."""
        old: dict[tuple[tuple[str, ...], str, int], cassettes.Interaction] = {}
        if path.is_file():
            for it in cassettes.read(path):
                m = it.meta
                old[(tuple(m["samples"]), str(m.get("split", "")), int(m.get("attempt", 1)))] = it
        for key, rec in self.paid.get(batch, {}).items():
            got = cassettes.from_record(rec)
            if got is not None and isinstance(key[2], int):
                old.setdefault((key[0], key[1], key[2]), got)
        return old

    def __call__(self, batch: str, ids: list[str]) -> strategy.BatchResult:
        from ger_replay.record.messages import build_messages

        path = rundir.cassette_path(self.run_dir, batch)
        rel = f"{rundir.CASSETTES}/{batch}.json"
        old = self._kept(batch, path)
        recorded: list[cassettes.Interaction] = []
        labels = list(self.ds.labels)

        def call(samples: tuple[str, ...], split: str, attempt: int) -> str:
            if self.stop.is_set():
                raise Stopped()
            meta = {"samples": list(samples), "split": split, "attempt": attempt}
            key = (samples, split, attempt)
            event: dict[str, Any] = {"event": "call", "batch": batch, **meta, "cassette": rel}
            it = old.pop(key, None)
            if it is not None:
                event["replayed"] = True
                event["endpoint"], event["model"] = provenance.of_interaction(it)
                self.stats.add(replayed=1)
            else:
                messages = build_messages(self.ds, [self.by_id[s] for s in samples], self.settings)
                body = request_body(self.settings, messages)
                event["endpoint"] = provenance.clean(self.client.base_url)
                event["model"] = self.settings.model

                def transient(t: Transient) -> None:
                    self.stats.add(retries=1, rate_limited=int(t.kind == "rate_limited"))
                    self.log.write(
                        {
                            "event": "call",
                            "batch": batch,
                            **meta,
                            **{k: event[k] for k in ("endpoint", "model")},
                            "outcome": t.kind,
                            "status_code": t.status,
                            "retry_after": t.retry_after,
                            "wait": round(t.wait, 3),
                            "interaction": None,
                            "message": t.message,
                        }
                    )

                try:
                    raw = self.client.chat(body, estimate_tokens(messages), transient)
                except CallStopped:
                    raise Stopped() from None
                it = _interaction(raw, meta)
                # paid for: journaled (fsynced) before anything else can fail
                self.log.write(
                    {"event": "response", "batch": batch, **meta, "record": cassettes.to_record(it)}
                )
                self._paid(raw, event)
            recorded.append(it)
            if "replayed" not in event:
                cassettes.write(path, recorded, batch)
            text = cassettes.answer_text(it.response)
            status = answer_status(it.status, text, len(samples), labels)
            self.stats.add(
                refusals=int(status in (Status.REFUSED, REJECTED)),
                failed_answers=int(status != Status.OK),
            )
            event.update(outcome=status, status_code=it.status, interaction=len(recorded) - 1)
            self.log.write(event)
            return status

        result = strategy.run_batch(ids, self.max_tries, call)
        # Final cassette: rewritten when a resume replayed calls (same content, now complete).
        cassettes.write(path, recorded, batch)
        self.log.write(
            {
                "event": "batch_done",
                "batch": batch,
                "cassette": rel,
                "interactions": len(recorded),
                "answered": result.answered,
                "unanswered": result.unanswered,
            }
        )
        return result

    def _paid(self, raw: RawCall, event: dict[str, Any]) -> None:
        """Counts a call that reached an answer, with the tokens its usage reports."""
        event["seconds"] = round(raw.seconds, 3)
        used = cost.usage_of(raw.content) if raw.status == 200 else (0, 0)
        self.stats.add(calls=1, prompt_tokens=used[0], completion_tokens=used[1])


class Stopped(Exception):
    pass


def _interaction(raw: RawCall, meta: dict[str, Any]) -> cassettes.Interaction:
    return cassettes.capture(
        raw.method,
        raw.url,
        raw.request_body,
        raw.request_headers,
        raw.status,
        raw.reason,
        raw.response_headers,
        raw.content,
        meta,
    )
