"""The checks before a recording writes anything: a resume against another endpoint or model
(provenance.py), then the endpoint itself (preflight.py) when there is work left; and the key
of the run's endpoint."""

from __future__ import annotations

import os

from ger_replay.errors import GerReplayError
from ger_replay.io import journal, rundir
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.settings import Sample
from ger_replay.record import provenance
from ger_replay.record.preflight import PreflightResult
from ger_replay.record.setup import RecordOptions, layout


def before(
    opts: RecordOptions, ds: Dataset, model: str, samples: list[Sample], own_client: bool
) -> PreflightResult | None:
    """Raises for a resume against another endpoint or model (unless allowed) and for an
    endpoint that cannot serve the run; the preflight's outcome, or None when it was skipped."""
    if rundir.is_run_dir(opts.out):
        meta = rundir.read_meta(opts.out)
        where = opts.out / rundir.RUN_JSON
        provenance.check_resume(meta, opts.base_url, model, opts.allow_endpoint_change, where)
    if not (own_client and opts.preflight and work_left(opts, ds, samples)):
        return None
    from ger_replay.record.preflight import check

    return check(opts.base_url, api_key(opts), model)


def api_key(opts: RecordOptions) -> str:
    """The key from `$OPENAI_API_KEY`, or from the variable a sweep's model names."""
    from ger_replay.record.client import KEY_ENV, api_key_from_env

    if opts.key_env == KEY_ENV:
        return api_key_from_env()
    key = os.environ.get(opts.key_env, "").strip()
    if not key:
        raise GerReplayError(f"set {opts.key_env} to the endpoint's key (named by key_env)")
    return key


def work_left(opts: RecordOptions, ds: Dataset, samples: list[Sample]) -> bool:
    """A new run, one with unfinished batches, or a subset run this command grows."""
    if not rundir.is_run_dir(opts.out):
        return True
    meta = rundir.read_meta(opts.out)
    done = journal.finished_batches(journal.read(opts.out / rundir.JOURNAL))
    order, segments, _ = layout(opts, ds, samples, meta)
    batches = rundir.batches(order, int(meta["batch_size"]), segments)
    return any(b not in done for b, _ in batches)
