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
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from ger_replay.errors import GerReplayError
from ger_replay.io import journal, rundir
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.settings import Sample
from ger_replay.record import cost, provenance
from ger_replay.record.batches import BatchRunner, Progress, RecordSummary, Stats, Stopped
from ger_replay.record.client import Client, TransientExhausted
from ger_replay.record.dryrun import Plan, plan
from ger_replay.record.preflight import PreflightResult
from ger_replay.record.setup import (
    RecordOptions,
    answer_status,
    default_batch_size,
    layout,
    load_samples,
    new_meta,
    open_run,
    options,
    request_body,
    resolve,
    settings_from_meta,
)


def record(opts: RecordOptions, client: Client | None = None) -> RecordSummary:
    """Records (or resumes) a run. Raises GerReplayError for bad input, a locked folder or an
    endpoint that refuses every request; a batch that exhausts its transient retries is left
    for the next resume and reported in the summary."""
    ds, settings, size = resolve(opts)
    samples = load_samples(opts, ds, settings.modality)
    checked = _before(opts, ds, settings.model, samples, client is None)
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
            bar = Progress(len(all_batches), len(done), stats, opts.progress)
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


def _before(
    opts: RecordOptions, ds: Dataset, model: str, samples: list[Sample], own_client: bool
) -> PreflightResult | None:
    """The checks before anything is written: a resume against another endpoint or model
    (provenance.py), then the endpoint itself (preflight.py) when there is work left."""
    if rundir.is_run_dir(opts.out):
        meta = rundir.read_meta(opts.out)
        where = opts.out / rundir.RUN_JSON
        provenance.check_resume(meta, opts.base_url, model, opts.allow_endpoint_change, where)
    if not (own_client and opts.preflight and _work_left(opts, ds, samples)):
        return None
    from ger_replay.record.preflight import check

    return check(opts.base_url, _api_key(opts), model)


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
    order, segments, _ = layout(opts, ds, samples, meta)
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
    bar: Progress,
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
        except Stopped:
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
    if s.skipped or st.replayed:
        _, p, c = cost.run_usage(s.run_dir)
        lines.append(cost.spent_line(s.price, p, c, "spent by the whole run"))
    lines.extend(f"note: {n}" for n in s.notes)
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
    "answer_status",
    "default_batch_size",
    "new_meta",
    "options",
    "plan",
    "record",
    "request_body",
    "settings_from_meta",
    "summary_lines",
]
