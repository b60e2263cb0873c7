"""`record`: runs the calling strategy over a manifest into a run folder, and resumes it.

The samples are put in a seeded order once, when the run folder is created; batch i is always
the same samples. A finished batch (its `batch_done` journal line) is never asked again. A batch
that was cut short keeps the calls it made in its cassette (rewritten atomically after each
call); on resume those calls are served from the cassette, so no call that reached an answer is
paid for twice.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ger_replay.errors import GerReplayError, InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset, Task
from ger_replay.record import cassettes, cost, journal, provenance, rundir, strategy
from ger_replay.record.client import (
    Client,
    RawCall,
    Transient,
    TransientExhausted,
    estimate_tokens,
)
from ger_replay.record.endpoint import check_params, default_base_url
from ger_replay.record.settings import RequestSettings, Sample

#: Keys of run.json that must agree when a run is resumed.
RESUME_KEYS = (
    "dataset",
    "model",
    "template",
    "template_text",
    "frames",
    "frame_plan",
    "color",
    "modality",
    "repeat",
    "batch_size",
    "max_tries",
    "temperature",
    "max_tokens",
    "token_field",
    "response_format",
    "params",
)
REJECTED = "rejected"


def default_batch_size(ds: Dataset, modality: str) -> int:
    """PROTOCOL.md part 5: 20 images; 6 videos (3 frames each) with or without text; the public
    code's 8 for video alone on the multimodal datasets; text alone as images."""
    if ds.task is Task.DYNAMIC_FACIAL:
        return 6
    if ds.task is Task.MULTIMODAL:
        return {"multi": 6, "video": 8}.get(modality, 20)
    return 20


@dataclass
class RecordOptions:
    dataset: str
    manifest: Path
    out: Path
    settings: RequestSettings = field(default_factory=RequestSettings)
    base_url: str = field(default_factory=default_base_url)
    batch_size: int | None = None
    max_tries: int = 3
    rpm: float | None = None
    tpm: float | None = None
    concurrency: int = 1
    repeat: int = 0
    seed: int = 0
    timeout: float = 120.0
    max_transient: int = 8
    backoff: float = 1.0
    name: str | None = None
    synthetic: bool = False
    note: str = ""
    progress: bool = True
    #: check the endpoint (GET /models) before the first batch of a run with work left
    preflight: bool = True
    #: let a resume continue against another endpoint or model (run.json lists them all)
    allow_endpoint_change: bool = False
    #: a seeded, class-stratified subset of this many samples (`record --limit`, subset.py)
    limit: int | None = None
    #: dollars per million tokens (`--price`); None: run.json's, else the table's (cost.py)
    price: cost.Price | None = None
    #: the environment variable holding the endpoint's key (a sweep's model may name another)
    key_env: str = "OPENAI_API_KEY"


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

    @property
    def complete(self) -> bool:
        return self.batches_done + self.skipped == self.batches


# ----------------------------------------------------------------------------- helpers


def answer_status(raw_status: int, text: str | None, n: int, labels: Sequence[str]) -> str:
    """Whether one answer qualifies: "ok", or the reason it does not."""
    if raw_status == 400:
        return REJECTED
    if text is None:
        return "unparseable"
    from ger_replay import parse_response

    return str(parse_response(text, n, list(labels)).status)


def request_body(settings: RequestSettings, messages: list[dict[str, Any]]) -> dict[str, Any]:
    from ger_replay.record.endpoint import body_fields

    fields = body_fields(
        settings.temperature,
        settings.max_tokens,
        settings.resolved_token_field,
        settings.response_format,
        settings.params,
    )
    return {"model": settings.model, "messages": messages, **fields}


def sample_order(ids: Sequence[str], seed: int, repeat: int) -> list[str]:
    """The run's fixed order: a seeded shuffle (string seeds hash the same on every machine)."""
    order = list(ids)
    random.Random(f"ger-replay:{seed}:{repeat}").shuffle(order)
    return order


def settings_meta(settings: RequestSettings) -> dict[str, Any]:
    builtin = settings.template in ("1", "2", "3")
    return {
        "model": settings.model,
        "template": settings.template if builtin else "file",
        "template_text": None if builtin else settings.template,
        "frames": settings.frames,
        "frame_plan": settings.frame_plan,
        "color": settings.color,
        "modality": settings.modality,
        "temperature": settings.params.get("temperature", settings.temperature),
        "max_tokens": settings.max_tokens,
        "token_field": settings.resolved_token_field,
        "response_format": settings.response_format or "text",
        "params": dict(settings.params),
    }


def settings_from_meta(meta: Mapping[str, Any]) -> RequestSettings:
    template = meta["template"]
    if template == "file":
        template = meta.get("template_text") or ""
    d = RequestSettings()
    return RequestSettings(
        model=meta["model"],
        template=template,
        frames=int(meta["frames"]),
        color=meta["color"],
        modality=meta["modality"],
        frame_plan=meta.get("frame_plan", d.frame_plan),
        temperature=_temperature(meta, d.temperature),
        max_tokens=int(meta.get("max_tokens", d.max_tokens)),
        # runs recorded before these fields existed sent max_tokens and free text
        token_field=str(meta.get("token_field") or "max_tokens"),
        response_format=meta.get("response_format") or "text",
        params=check_params(meta.get("params") or {}, "run.json params"),
    )


def _temperature(meta: Mapping[str, Any], default: float | None) -> float | None:
    """run.json's temperature: absent in old runs (the default), null when none was sent; a
    temperature given as a parameter is sent from `params`."""
    params = meta.get("params") or {}
    if "temperature" in params:
        return default
    if "temperature" not in meta:
        return default
    t = meta["temperature"]
    return None if t is None else float(t)


def resolve(opts: RecordOptions) -> tuple[Dataset, RequestSettings, int]:
    """The dataset, settings with the modality resolved, and the batch size."""
    from ger_replay.protocol.prompts import resolve_modality

    try:
        ds = datasets.get(opts.dataset)
    except datasets.UnknownDataset as e:
        raise InputError(str(e)) from None
    modality = resolve_modality(ds, opts.settings.modality)
    settings = replace(opts.settings, modality=modality)  # type: ignore[arg-type]
    size = opts.batch_size or default_batch_size(ds, modality)
    if size < 1:
        raise InputError("--batch-size must be at least 1")
    if opts.max_tries < 1:
        raise InputError("--max-tries must be at least 1")
    return ds, settings, size


def load_samples(opts: RecordOptions, ds: Dataset, modality: str) -> list[Sample]:
    from ger_replay.record.manifest import load_manifest

    samples = load_manifest(opts.manifest, ds, modality)
    if not samples:
        raise InputError("the manifest lists no samples", opts.manifest)
    return samples


def new_meta(
    opts: RecordOptions, ds: Dataset, settings: RequestSettings, size: int, order: list[str]
) -> dict[str, Any]:
    from ger_replay import __version__

    return {
        "schema_version": rundir.SCHEMA_VERSION,
        "kind": rundir.KIND,
        "name": opts.name or opts.out.resolve().name,
        "dataset": ds.key,
        "task": str(ds.task),
        "labels": list(ds.labels),
        "endpoint": cassettes.clean_url(opts.base_url),
        **settings_meta(settings),
        "repeat": opts.repeat,
        "batch_size": size,
        "max_tries": opts.max_tries,
        "seed": opts.seed,
        "sample_order": order,
        "tool_version": __version__,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "synthetic": opts.synthetic,
        "note": opts.note,
    }


def open_run(
    opts: RecordOptions, ds: Dataset, settings: RequestSettings, size: int, samples: list[Sample]
) -> dict[str, Any]:
    """Creates the run folder, or checks that an existing one is the same run."""
    out = opts.out
    if rundir.is_run_dir(out):
        meta = rundir.read_meta(out)
        changed = provenance.check_resume(
            meta, opts.base_url, settings.model, opts.allow_endpoint_change, out / rundir.RUN_JSON
        )
        meta = changed or meta
        want = {**settings_meta(settings), "dataset": ds.key, "repeat": opts.repeat}
        want.update(batch_size=size, max_tries=opts.max_tries)
        had = {**meta, **settings_meta(settings_from_meta(meta))}
        diff = [
            f"{k}: recorded {had.get(k)!r}, asked {want[k]!r}"
            for k in RESUME_KEYS
            if k in want and had.get(k) != want[k]
        ]
        if diff:
            raise InputError(
                "cannot resume: this run was recorded with other settings ("
                + "; ".join(diff)
                + "); record into a new folder",
                out / rundir.RUN_JSON,
            )
        have = {s.sample_id for s in samples}
        missing = [s for s in meta["sample_order"] if s not in have]
        if missing:
            raise InputError(
                f"cannot resume: {len(missing)} sample(s) of the run are not in the manifest "
                f"(first: {missing[0]})",
                opts.manifest,
            )
        rundir.remove_temp_files(out)
        order, segments, sub = _layout(opts, ds, samples, meta)
        if order != meta["sample_order"]:  # a subset run grows: the new samples, new batches
            meta = {**meta, "sample_order": order, "segments": segments, "subset": sub}
            by_id = {s.sample_id: s for s in samples}
            rundir.write_labels(out, [(i, by_id[i].gt) for i in order])
            changed = meta
        if opts.price is not None and meta.get("price") != opts.price.as_meta():
            meta = changed = {**meta, "price": opts.price.as_meta()}
        if changed is not None:
            rundir.write_meta(out, changed)
        return meta
    if out.exists() and any(p.name != rundir.LOCK for p in out.iterdir()):
        raise InputError("exists and is not a run folder; choose an empty or new folder", out)
    order, segments, sub = _layout(opts, ds, samples, None)
    meta = new_meta(opts, ds, settings, size, order)
    price = opts.price or cost.known(settings.model)
    if price is not None:
        meta["price"] = price.as_meta()
    if sub is not None:
        meta.update(subset=sub, segments=segments)
    by_id = {s.sample_id: s for s in samples}
    rundir.write_labels(out, [(i, by_id[i].gt) for i in meta["sample_order"]])
    (out / rundir.CASSETTES).mkdir(parents=True, exist_ok=True)
    rundir.write_meta(out, meta)  # last: a folder with run.json is complete
    return meta


def _layout(
    opts: RecordOptions, ds: Dataset, samples: list[Sample], meta: dict[str, Any] | None
) -> tuple[list[str], list[int] | None, dict[str, int] | None]:
    from ger_replay.record import subset

    def shuffle(ids: Sequence[str]) -> list[str]:
        return sample_order(ids, opts.seed, opts.repeat)

    return subset.layout(samples, ds, opts.limit, opts.seed, shuffle, meta)


# ----------------------------------------------------------------------------- plan


@dataclass
class Plan:
    samples: int
    batches: int
    batch_size: int
    min_requests: int
    max_requests: int
    prompt_tokens: int
    completion_tokens: int
    done: int = 0
    subset: dict[str, int] | None = None
    price: cost.Price | None = None

    @property
    def estimate(self) -> float | None:
        if self.price is None:
            return None
        return self.price.cost(self.prompt_tokens, self.completion_tokens)

    def lines(self) -> list[str]:
        return [
            f"samples:           {self.samples}",
            f"batches:           {self.batches} of up to {self.batch_size}"
            + (f" ({self.done} already finished)" if self.done else ""),
            f"requests:          {self.min_requests} if every answer qualifies, "
            f"at most {self.max_requests}",
            f"tokens (estimate): {self.prompt_tokens:,} prompt + "
            f"{self.completion_tokens:,} completion for one request per batch",
            "cost (estimate):   "
            + (
                f"{cost.money(self.estimate)} at {self.price.label()}"
                if self.price is not None and self.estimate is not None
                else "no price known for this model: give --price IN,OUT"
            ),
        ] + (
            [
                f"subset:            {self.subset['n']} of {self.subset['of']} samples "
                f"(class-stratified, seed {self.subset['seed']})"
            ]
            if self.subset
            else []
        )


def plan(opts: RecordOptions) -> Plan:
    """The plan of a run (`--dry-run`): no request is made and nothing is written. Tokens are
    estimated from the first batch's messages, scaled to all samples."""
    from ger_replay.record.messages import build_messages

    ds, settings, size = resolve(opts)
    samples = load_samples(opts, ds, settings.modality)
    done: set[str] = set()
    meta = None
    if rundir.is_run_dir(opts.out):
        meta = rundir.read_meta(opts.out)
        size = int(meta["batch_size"])
        done = journal.finished_batches(journal.read(opts.out / rundir.JOURNAL))
    order, segments, sub = _layout(opts, ds, samples, meta)
    plan_batches = rundir.batches(order, size, segments)
    todo = [(b, ids) for b, ids in plan_batches if b not in done]
    by_id = {s.sample_id: s for s in samples}
    first = [by_id[i] for i in (todo or plan_batches)[0][1]]
    tokens = estimate_tokens(build_messages(ds, first, settings))
    per_sample = tokens / len(first)
    lo = hi = 0
    for _, ids in todo:
        a, b = strategy.planned_calls(len(ids), opts.max_tries)
        lo, hi = lo + a, hi + b
    left = sum(len(ids) for _, ids in todo)
    return Plan(
        samples=len(order),
        batches=len(plan_batches),
        batch_size=size,
        min_requests=lo,
        max_requests=hi,
        prompt_tokens=round(per_sample * left),
        completion_tokens=30 * left,
        done=len(plan_batches) - len(todo),
        subset=sub,
        price=opts.price or (cost.from_meta(meta) if meta else cost.known(settings.model)),
    )


# ----------------------------------------------------------------------------- record


class _Progress:
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
    ) -> None:
        self.run_dir, self.ds, self.settings = run_dir, ds, settings
        self.max_tries, self.by_id = max_tries, by_id
        self.client, self.log, self.stats, self.stop = client, log, stats, stop

    def __call__(self, batch: str, ids: list[str]) -> strategy.BatchResult:
        from ger_replay.record.messages import build_messages

        path = rundir.cassette_path(self.run_dir, batch)
        rel = f"{rundir.CASSETTES}/{batch}.json"
        old: dict[tuple[tuple[str, ...], str, int], cassettes.Interaction] = {}
        if path.is_file():
            for it in cassettes.read(path):
                m = it.meta
                old[(tuple(m["samples"]), str(m.get("split", "")), int(m.get("attempt", 1)))] = it
        recorded: list[cassettes.Interaction] = []
        labels = list(self.ds.labels)

        def call(samples: tuple[str, ...], split: str, attempt: int) -> str:
            if self.stop.is_set():
                raise _Stopped()
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
                            "endpoint": event["endpoint"],
                            "model": event["model"],
                            "outcome": t.kind,
                            "status_code": t.status,
                            "retry_after": t.retry_after,
                            "wait": round(t.wait, 3),
                            "interaction": None,
                            "message": t.message,
                        }
                    )

                raw = self.client.chat(body, estimate_tokens(messages), transient)
                it = _interaction(raw, meta)
                event["seconds"] = round(raw.seconds, 3)
                used = cost.usage_of(raw.content) if raw.status == 200 else (0, 0)
                self.stats.add(calls=1, prompt_tokens=used[0], completion_tokens=used[1])
            recorded.append(it)
            if "replayed" not in event:
                cassettes.write(path, recorded, batch)
            text = cassettes.answer_text(it.response)
            status = answer_status(it.status, text, len(samples), labels)
            self.stats.add(
                refusals=int(status in ("refused", REJECTED)), failed_answers=int(status != "ok")
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


class _Stopped(Exception):
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


def record(opts: RecordOptions, client: Client | None = None) -> RecordSummary:
    """Records (or resumes) a run. Raises GerReplayError for bad input, a locked folder or an
    endpoint that refuses every request; a batch that exhausts its transient retries is left
    for the next resume and reported in the summary."""
    ds, settings, size = resolve(opts)
    samples = load_samples(opts, ds, settings.modality)
    if rundir.is_run_dir(opts.out):  # refused before anything else is asked
        provenance.check_resume(
            rundir.read_meta(opts.out),
            opts.base_url,
            settings.model,
            opts.allow_endpoint_change,
            opts.out / rundir.RUN_JSON,
        )
    checked = None
    if client is None and opts.preflight and _work_left(opts, ds, samples):
        from ger_replay.record.preflight import check

        checked = check(opts.base_url, _api_key(opts), settings.model)
    with rundir.locked(opts.out):
        meta = open_run(opts, ds, settings, size, samples)
        by_id = {s.sample_id: s for s in samples}
        all_batches = rundir.run_batches(meta)
        log_path = opts.out / rundir.JOURNAL
        done = journal.finished_batches(journal.read(log_path))
        todo = [(b, ids) for b, ids in all_batches if b not in done]
        own_client = client is None
        if client is None:
            client = Client(
                opts.base_url,
                api_key=_api_key(opts),
                rpm=opts.rpm,
                tpm=opts.tpm,
                timeout=opts.timeout,
                max_transient=opts.max_transient,
                backoff=opts.backoff,
            )
        stats = Stats()
        errors: list[str] = []
        with journal.Journal(log_path) as log, _closing(client, own_client):
            log.write(
                {
                    "event": "open",
                    "pid": os.getpid(),
                    "resume": bool(done),
                    "endpoint": provenance.clean(client.base_url),
                    "model": settings.model,
                    "preflight": checked.as_event() if checked is not None else None,
                }
            )
            stop = threading.Event()
            runner = BatchRunner(
                opts.out, ds, settings, meta["max_tries"], by_id, client, log, stats, stop
            )
            bar = _Progress(len(all_batches), len(done), stats, opts.progress)
            try:
                _run_all(runner, todo, max(1, opts.concurrency), stats, bar, log, stop, errors)
            finally:
                bar.close()
        return RecordSummary(
            opts.out,
            batches=len(all_batches),
            batches_done=stats.batches_done,
            batches_failed=stats.batches_failed,
            skipped=len(done),
            stats=stats,
            errors=errors,
            subset=meta.get("subset"),
            price=cost.from_meta(meta),
            notes=[checked.note] if checked is not None and checked.note else [],
        )


def _api_key(opts: RecordOptions) -> str:
    from ger_replay.record.client import KEY_ENV, api_key_from_env

    if opts.key_env == KEY_ENV:
        return api_key_from_env()
    key = os.environ.get(opts.key_env, "").strip()
    if not key:
        raise GerReplayError(f"set {opts.key_env} to the endpoint's key (named by key_env)")
    return key


def _work_left(opts: RecordOptions, ds: Dataset, samples: list[Sample]) -> bool:
    """A new run, one with unfinished batches, or a subset run this command grows."""
    if not rundir.is_run_dir(opts.out):
        return True
    meta = rundir.read_meta(opts.out)
    done = journal.finished_batches(journal.read(opts.out / rundir.JOURNAL))
    order, segments, _ = _layout(opts, ds, samples, meta)
    batches = rundir.batches(order, int(meta["batch_size"]), segments)
    return any(b not in done for b, _ in batches)


@contextlib.contextmanager
def _closing(client: Client, own: bool) -> Iterator[None]:
    try:
        yield
    finally:
        if own:
            client.close()


def _run_all(
    runner: BatchRunner,
    todo: list[tuple[str, list[str]]],
    workers: int,
    stats: Stats,
    bar: _Progress,
    log: journal.Journal,
    stop: threading.Event,
    errors: list[str],
) -> None:
    def one(batch: str, ids: list[str]) -> None:
        try:
            res = runner(batch, ids)
        except TransientExhausted as e:
            log.write({"event": "batch_failed", "batch": batch, "reason": str(e)})
            stats.add(batches_failed=1)
            errors.append(f"batch {batch}: {e}")
            return
        except _Stopped:
            return
        stats.add(batches_done=1, answered=res.answered, unanswered=len(res.unanswered))
        bar.update()

    if workers == 1:
        for b, ids in todo:
            one(b, ids)
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(one, b, ids) for b, ids in todo]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in finished:
            if f.exception() is not None:
                stop.set()
                for g in futures:
                    g.cancel()
                raise f.exception()  # type: ignore[misc]


def summary_lines(s: RecordSummary) -> list[str]:
    st = s.stats
    lines = [
        f"run: {s.run_dir}",
        f"batches: {s.skipped + s.batches_done}/{s.batches} finished"
        + (f" ({s.skipped} before this session)" if s.skipped else ""),
        f"calls: {st.calls} made, {st.replayed} served from cassettes of cut batches, "
        f"{st.retries} transient retries ({st.rate_limited} rate limited)",
        f"answers not qualifying: {st.failed_answers} (refusals {st.refusals}); "
        f"samples answered {st.answered}, unanswered {st.unanswered}",
        f"request rate: {st.rate_per_min:.1f}/min",
    ]
    lines.append(
        cost.spent_line(s.price, st.prompt_tokens, st.completion_tokens, "spent this session")
    )
    lines.extend(f"note: {n}" for n in s.notes)
    if s.skipped or st.replayed:
        _, p, c = cost.run_usage(s.run_dir)
        lines.append(cost.spent_line(s.price, p, c, "spent by the whole run"))
    if s.subset:
        lines.append(
            f"subset: {s.subset['n']} of {s.subset['of']} samples (class-stratified, seed "
            f"{s.subset['seed']}); record again without --limit (or a larger one) into this "
            "folder to add the rest"
        )
    if not s.complete:
        lines.append(
            f"{s.batches - s.skipped - s.batches_done} batch(es) unfinished: run the same "
            "record command again to resume"
        )
    return lines


__all__ = [
    "BatchRunner",
    "Plan",
    "RecordOptions",
    "RecordSummary",
    "default_batch_size",
    "plan",
    "record",
    "summary_lines",
]


def options(
    dataset: str,
    manifest: Path,
    out: Path,
    model: str,
    base_url: str,
    template: str,
    frames: int,
    frame_plan: str,
    color: str,
    modality: str | None,
    batch_size: int | None,
    max_tries: int,
    rpm: float | None,
    tpm: float | None,
    concurrency: int,
    repeat: int,
    seed: int = 0,
    params: Sequence[str] = (),
    token_field: str = "auto",
    max_tokens: int | None = None,
    response_format: str = "text",
    limit: int | None = None,
    price: str | None = None,
) -> RecordOptions:
    """RecordOptions from the command line's values (`--template` may name a file)."""
    from ger_replay.protocol.prompts import template_from_option

    if frames < 1:
        raise InputError("--frames must be at least 1")
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    from ger_replay.record import endpoint

    if max_tokens is not None and max_tokens < 1:
        raise InputError("--max-tokens must be at least 1")
    settings = RequestSettings(
        model=model,
        template=template_from_option(template),
        frames=frames,
        color=color,  # type: ignore[arg-type]
        modality=modality or "image",  # type: ignore[arg-type]
        frame_plan=frame_plan,  # type: ignore[arg-type]
        temperature=None if endpoint.is_reasoning_model(model) else 0.0,
        max_tokens=max_tokens or endpoint.default_max_tokens(model),
        token_field=token_field,
        response_format=response_format,
        params=endpoint.parse_params(params),
    )
    return RecordOptions(
        dataset=dataset,
        manifest=manifest,
        out=out,
        settings=settings,
        base_url=base_url,
        batch_size=batch_size,
        max_tries=max_tries,
        rpm=rpm,
        tpm=tpm,
        concurrency=concurrency,
        repeat=repeat,
        seed=seed,
        limit=limit,
        price=cost.parse_price(price) if price is not None else None,
    )
