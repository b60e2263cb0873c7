"""`replay RUN_DIR --manifest FILE`: the whole recording pipeline (manifest, media, prompts,
request bodies, the calling strategy, parsing) run again against the run's cassettes, with vcrpy
in record mode "none" and every socket connection refused. It fails naming the first request
that has no recording: proof that the pipeline has not drifted since the run was recorded.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import openai
from vcr.errors import CannotOverwriteExistingCassetteException

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import journal, rundir
from ger_replay.protocol.settings import RequestSettings
from ger_replay.record import cassettes, provenance, strategy
from ger_replay.record.endpoint import create_kwargs
from ger_replay.record.setup import answer_status, request_body


class ReplayMismatch(GerReplayError):
    """A request of the pipeline has no recording (or the calls differ from the recorded ones)."""


class NetworkBlocked(OSError):
    pass


@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Every outgoing socket connection fails while inside (replay never needs the network)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkBlocked("network access is blocked during replay")

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved  # type: ignore[method-assign]


@dataclass
class ReplaySummary:
    run_dir: Path
    batches: int = 0
    calls: int = 0
    answered: int = 0
    unanswered: int = 0
    skipped: list[str] = field(default_factory=list)


def _batches_to_replay(run_dir: Path, meta: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Finished batches (by the journal; without a journal, every batch with a cassette)."""
    all_batches = rundir.run_batches(meta)
    events = journal.read(run_dir / rundir.JOURNAL)
    if events:
        done = journal.finished_batches(events)
        return [(b, ids) for b, ids in all_batches if b in done]
    return [(b, ids) for b, ids in all_batches if rundir.cassette_path(run_dir, b).is_file()]


def replay(run_dir: Path, manifest: Path, base_url: str | None = None) -> ReplaySummary:
    from ger_replay.record.manifest import run_samples
    from ger_replay.record.messages import build_messages

    meta, ds, settings, samples = run_samples(run_dir, manifest)
    missing = [s for s in meta["sample_order"] if s not in samples]
    if missing:
        raise InputError(
            f"{len(missing)} sample(s) of the run are not in the manifest (first: {missing[0]})",
            manifest,
        )
    labels = [str(x) for x in meta.get("labels") or ds.labels]
    todo = _batches_to_replay(run_dir, meta)
    out = ReplaySummary(run_dir)
    if not todo:
        raise ReplayMismatch("no finished batch to replay", run_dir)
    expected = {b: cassettes.read(rundir.cassette_path(run_dir, b)) for b, _ in todo}
    vcr = cassettes.make_vcr("none")
    url = base_url or meta.get("endpoint") or "https://api.openai.com/v1"
    targets = _Targets(url, settings, meta)
    cassette_dir = str(run_dir / rundir.CASSETTES)
    with network_blocked(), vcr.use_cassette(cassette_dir, allow_playback_repeats=False):
        for batch, ids in todo:
            made: list[tuple[list[str], str, int]] = []
            by_key = {_call_key(i.meta): i for i in expected[batch]}

            def call(
                ss: tuple[str, ...],
                split: str,
                attempt: int,
                batch: str = batch,
                made: list[tuple[list[str], str, int]] = made,
                by_key: dict[tuple[tuple[str, ...], str, int], cassettes.Interaction] = by_key,
            ) -> str:
                messages = build_messages(ds, [samples[s] for s in ss], settings)
                use, http_client = targets.of(by_key.get((ss, split, attempt)))
                body = request_body(use, messages)
                where = f"batch {batch}, split {split or '(whole)'}, attempt {attempt}"
                missing = ReplayMismatch(
                    f"no recording for the request of {where} "
                    f"(samples {', '.join(ss)}; body digest "
                    f"{cassettes.body_digest(_body_bytes(body))[:16]})",
                    run_dir,
                )
                try:
                    resp = http_client.chat.completions.with_raw_response.create(
                        **create_kwargs(body)
                    )
                    http = resp.http_response
                except CannotOverwriteExistingCassetteException:
                    raise _explained(missing, ss, body, expected[batch]) from None
                except openai.BadRequestError as e:
                    http = e.response
                except openai.APIConnectionError:
                    # openai 1.x wraps vcrpy's miss in a connection error; 3.x lets it through
                    raise _explained(missing, ss, body, expected[batch]) from None
                made.append((list(ss), split, attempt))
                text = cassettes.answer_text(
                    {"status": {"code": http.status_code}, "body": {"string": http.content}}
                )
                return answer_status(http.status_code, text, len(ss), labels)

            res = strategy.run_batch(ids, int(meta["max_tries"]), call)
            _same_calls(run_dir, batch, made, expected[batch])
            out.batches += 1
            out.calls += len(made)
            out.answered += res.answered
            out.unanswered += len(res.unanswered)
    targets.close()
    return out


def changed_media(
    ss: tuple[str, ...] | list[str], body: dict[str, Any], expected: list[cassettes.Interaction]
) -> list[str]:
    """The samples of a request whose content (image digests, texts) differs from the recorded
    request for the same samples: the media that changed since the recording."""
    from ger_replay.io.sample_calls import content_of, split_items
    from ger_replay.record.messages import digest_of_url

    rec = next((i for i in expected if [str(s) for s in i.meta["samples"]] == list(ss)), None)
    if rec is None:
        return []
    old = split_items(content_of(rec.request.body), len(ss))[1]
    content = []
    for p in body["messages"][0]["content"]:
        if p.get("type") == "image_url":
            p = {**p, "image_url": {"url": digest_of_url(p["image_url"]["url"])}}
        content.append(p)
    new = split_items(content, len(ss))[1]
    return [s for s, a, b in zip(ss, old, new, strict=True) if a != b]


def _explained(
    e: ReplayMismatch,
    ss: tuple[str, ...],
    body: dict[str, Any],
    expected: list[cassettes.Interaction],
) -> ReplayMismatch:
    """The miss, naming the samples whose media changed where that is the cause."""
    changed = changed_media(ss, body, expected)
    if not changed:
        return e
    names = ", ".join(changed)
    return ReplayMismatch(
        f"{e.message}: the media of sample(s) {names} changed since the recording (their "
        "image digests or texts differ from the recorded request)",
        e.path,
    )


def _call_key(meta: dict[str, Any]) -> tuple[tuple[str, ...], str, int]:
    return (tuple(meta["samples"]), str(meta.get("split", "")), int(meta["attempt"]))


class _Targets:
    """The settings and client of each call: the run's; for a run resumed against another
    endpoint or model (run.json `endpoints`), those its cassette entry was recorded with."""

    def __init__(self, url: str, settings: RequestSettings, meta: dict[str, Any]) -> None:
        self.url, self.settings = url, settings
        self.mixed = provenance.mixed(meta)
        self.clients: dict[str, openai.OpenAI] = {}

    def client(self, base: str) -> openai.OpenAI:
        if base not in self.clients:
            self.clients[base] = openai.OpenAI(
                api_key="replay-needs-no-key", base_url=base, max_retries=0
            )
        return self.clients[base]

    def of(self, it: cassettes.Interaction | None) -> tuple[RequestSettings, openai.OpenAI]:
        if not self.mixed or it is None:
            return self.settings, self.client(self.url)
        endpoint, model = provenance.of_interaction(it)
        return replace(self.settings, model=model or self.settings.model), self.client(endpoint)

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def _same_calls(
    run_dir: Path,
    batch: str,
    made: list[tuple[list[str], str, int]],
    expected: list[cassettes.Interaction],
) -> None:
    """The calls the strategy made are the recorded ones, or a `ReplayMismatch`."""
    rec = [
        (list(i.meta["samples"]), str(i.meta.get("split", "")), int(i.meta["attempt"]))
        for i in expected
    ]
    if made != rec:
        raise ReplayMismatch(
            f"batch {batch}: the strategy made {len(made)} call(s), the cassette holds "
            f"{len(rec)}; the calls differ from call {_first_diff(made, rec)} "
            "(the parser now judges an answer differently than when it was recorded)",
            rundir.cassette_path(run_dir, batch),
        )


def _first_diff(a: list[Any], b: list[Any]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _body_bytes(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()
