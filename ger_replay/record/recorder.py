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
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import journal, rundir, scrub
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.settings import RequestSettings, Sample
from ger_replay.record import checks, cost, provenance
from ger_replay.record.batches import (
    STOP_GRACE,
    BatchRunner,
    Progress,
    RecordSummary,
    Stats,
    Stopped,
)
from ger_replay.record.client import Client, TransientExhausted
from ger_replay.record.dryrun import Plan, plan
from ger_replay.record.preflight import PreflightResult
from ger_replay.record.setup import (
    RecordOptions,
    answer_status,
    default_batch_size,
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
    checked = checks.before(opts, ds, settings.model, samples, client is None)
    stop = threading.Event()
    with rundir.locked(opts.out), _stop_on_signals(stop) as caught:
        try:
            return _record_locked(opts, ds, settings, size, samples, client, stop, caught, checked)
        except OSError as e:
            raise InputError(
                f"cannot write to the run folder: {e.strerror or e}; the run stopped and every "
                "answer already recorded is kept: free space (or fix the folder), then run the "
                "same command to resume",
                opts.out,
            ) from None


def _record_locked(
    opts: RecordOptions,
    ds: Dataset,
    settings: RequestSettings,
    size: int,
    samples: list[Sample],
    client: Client | None,
    stop: threading.Event,
    caught: list[int],
    checked: PreflightResult | None = None,
) -> RecordSummary:
    meta = open_run(opts, ds, settings, size, samples)
    by_id = {s.sample_id: s for s in samples}
    all_batches = rundir.run_batches(meta)
    log_path = opts.out / rundir.JOURNAL
    events = journal.read(log_path)
    done = journal.finished_batches(events)
    paid = journal.paid_responses(events)
    del events
    todo = [(b, ids) for b, ids in all_batches if b not in done]
    own_client = client is None
    if client is None:
        client = Client(
            opts.base_url,
            api_key=checks.api_key(opts),
            rpm=opts.rpm,
            tpm=opts.tpm,
            timeout=opts.timeout,
            max_transient=opts.max_transient,
            backoff=opts.backoff,
            sleep=_sleeper(stop),
        )
    client.stop_event = stop
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
        runner = BatchRunner(
            opts.out, ds, settings, meta["max_tries"], by_id, client, log, stats, stop, paid
        )
        bar = Progress(len(all_batches), len(done), stats, opts.progress)
        try:
            _run_all(runner, todo, max(1, opts.concurrency), stats, bar, log, stop, errors)
        finally:
            bar.close()
        if caught:
            log.write({"event": "interrupted", "signal": caught[0]})
    return RecordSummary(
        opts.out,
        batches=len(all_batches),
        batches_done=stats.batches_done,
        batches_failed=stats.batches_failed,
        skipped=len(done),
        stats=stats,
        errors=errors,
        interrupted=caught[0] if caught else None,
        subset=meta.get("subset"),
        price=cost.from_meta(meta),
        notes=[checked.note] if checked is not None and checked.note else [],
    )


def _sleeper(stop: threading.Event) -> Callable[[float], None]:
    """A sleep that a stop (Ctrl-C) cuts short."""

    def sleep(seconds: float) -> None:
        stop.wait(max(seconds, 0.0))

    return sleep


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[list[int]]:
    """The first SIGINT or SIGTERM sets `stop` (no new request; calls in flight finish and are
    recorded); a second one exits at once (everything recorded is already on disk). Only the
    main thread can install handlers; elsewhere this does nothing."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, _frame: Any) -> None:
        if caught:
            os.write(2, b"\nstopped at once; everything recorded is kept\n")
            os._exit(130)
        caught.append(signum)
        stop.set()
        os.write(
            2,
            f"\nstopping: no new request; waiting up to {STOP_GRACE:.0f} s for the calls in "
            "flight (press Ctrl-C again to quit at once)\n".encode(),
        )

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        # once stopping, the handler stays: a second signal while the summary prints (or
        # while the caller winds up) still exits at once, never with a traceback
        if not caught:
            for sig, h in old.items():
                signal.signal(sig, h)


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
        if stop.is_set():
            return
        try:
            res = runner(batch, ids)
        except TransientExhausted as e:
            log.write({"event": "batch_failed", "batch": batch, "reason": str(e)})
            stats.add(batches_failed=1)
            errors.append(f"batch {batch}: {e}")
            return
        except Stopped:
            return
        except BaseException:
            stop.set()  # a full disk, a refusing endpoint: no worker starts another call
            raise
        stats.add(batches_done=1, answered=res.answered, unanswered=len(res.unanswered))
        bar.update()

    # Even one worker runs off the main thread, so that a stop never waits on a slow answer for
    # longer than STOP_GRACE: calls still in flight then are abandoned (not recorded; a resume
    # asks them again).
    pool = ThreadPoolExecutor(workers)
    futures = [pool.submit(one, b, ids) for b, ids in todo]
    stopped_at: float | None = None
    abandon = False
    try:
        while True:
            finished, pending = wait(futures, timeout=0.1, return_when=FIRST_EXCEPTION)
            for f in finished:
                if f.cancelled():
                    continue
                exc = f.exception()
                if exc is not None:
                    stop.set()
                    for g in futures:
                        g.cancel()
                    raise exc
            if not pending:
                return
            if stop.is_set():
                if stopped_at is None:
                    stopped_at = time.monotonic()
                    for g in pending:
                        g.cancel()
                elif time.monotonic() - stopped_at > STOP_GRACE:
                    abandon = True
                    stats.add(abandoned=sum(1 for g in pending if g.running()))
                    return
    finally:
        pool.shutdown(wait=not abandon, cancel_futures=True)


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
    if s.interrupted is not None:
        lines.append(f"stopped by {signal.Signals(s.interrupted).name}: no new request was made")
        if st.abandoned:
            lines.append(
                f"{st.abandoned} call(s) still in flight after {STOP_GRACE:.0f} s were abandoned "
                "(not recorded: the resume asks them again)"
            )
    if not s.complete:
        lines.append(
            f"{s.batches - s.skipped - s.batches_done} batch(es) unfinished: run the same "
            "record command again to resume"
        )
        lines.append(f"  {resume_command()}")
    return lines


def resume_command(argv: Sequence[str] | None = None) -> str:
    """The command line that resumes this run, with any URL's credentials left out."""
    import shlex

    args = list(sys.argv[1:] if argv is None else argv)
    out = []
    after_url = False
    for a in args:
        if after_url:
            a, after_url = scrub.clean_url(a), False
        elif a == "--base-url":
            after_url = True
        elif a.startswith("--base-url="):
            a = "--base-url=" + scrub.clean_url(a.split("=", 1)[1])
        out.append(scrub.scrub_text(a))
    return shlex.join(["ger-replay", *out])


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
