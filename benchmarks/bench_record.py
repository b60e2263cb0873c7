"""The recorder: request rate kept against a simulator limiting 120 requests a minute (429 with
Retry-After), and scoring 2,000 batch cassettes (40,000 predictions) from their raw answers."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, Result, best_time

sys.path.insert(0, str(ROOT / "tests"))

RATE_SECONDS = float(os.environ.get("GER_BENCH_RATE_SECONDS", "60"))
N_CASSETTES, PER_BATCH = 2000, 20


def rate_run(limit: float = 120.0, seconds: float = RATE_SECONDS) -> Result:
    from recordkit import FAKE_KEY, image_manifest

    from ger_replay.protocol import datasets
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import recorder
    from ger_replay.record.simulator import serve

    os.environ.setdefault("OPENAI_API_KEY", FAKE_KEY)
    n = int(limit * seconds / 60)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = image_manifest(Path(tmp), n)
        with serve(manifest, datasets.get("sfew2"), rpm_limit=limit) as sim:
            opts = recorder.RecordOptions(
                "sfew2",
                manifest,
                Path(tmp) / "run",
                RequestSettings(model="m"),
                base_url=sim.url,
                batch_size=1,
                concurrency=4,
                progress=False,
            )
            t0 = time.monotonic()
            s = recorder.record(opts)
            elapsed = time.monotonic() - t0
            stats = sim.stats
    answered = stats.get("answered", 0)
    per_request = elapsed / max(answered, 1)
    return Result(
        name=f"record at a {limit:.0f}/min limit ({answered} requests, {elapsed:.0f} s)",
        ours_s=per_request,
        peer="the endpoint's limit",
        peer_s=60.0 / limit,
        note=f"{stats.get('rate_limited', 0)} 429s, {s.stats.unanswered} samples lost, "
        f"complete={s.complete}",
        extra={"rate_per_min": answered / elapsed * 60},
    )


def make_cassettes(run_dir: Path) -> None:
    """A run of 2,000 batches of 20 with one recorded answer each (generated, not recorded)."""
    import json

    from ger_replay.io import rundir
    from ger_replay.protocol import datasets
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import cassettes, recorder

    ds = datasets.get("sfew2")
    ids = [f"s{i:06d}" for i in range(N_CASSETTES * PER_BATCH)]
    gts = [ds.labels[i % len(ds.labels)] for i in range(len(ids))]
    opts = recorder.RecordOptions("sfew2", Path("m.csv"), run_dir, RequestSettings(model="m"))
    meta = recorder.new_meta(opts, ds, RequestSettings(model="m"), PER_BATCH, ids)
    rundir.write_labels(run_dir, list(zip(ids, gts, strict=True)))
    rundir.write_meta(run_dir, meta)
    for b, batch in rundir.batches(ids, PER_BATCH):
        answer = "".join(
            f"{k + 1}. {{'name': 'image-{k + 1}', 'result': ['{ds.labels[(k + j) % 7]}', "
            f"'{ds.labels[(k + j + 1) % 7]}', '{ds.labels[(k + j + 2) % 7]}']}}\n"
            for k, j in enumerate([int(b[1:])] * len(batch))
        )
        body = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        req = {"model": "m", "messages": [{"role": "user", "content": "prompt " + b}]}
        it = cassettes.capture(
            "POST",
            "http://127.0.0.1/v1/chat/completions",
            json.dumps(req).encode(),
            [],
            200,
            "OK",
            [("Content-Type", "application/json")],
            json.dumps(body).encode(),
            {"samples": batch, "split": "", "attempt": 1},
        )
        cassettes.write(rundir.cassette_path(run_dir, b), [it], b)


def score_ours(run_dir: Path) -> int:
    from ger_replay.io import load as sources

    loaded = sources.load([run_dir])
    assert not loaded.errors, loaded.errors
    return loaded.table.height


def load_with_vcrpy(run_dir: Path) -> int:
    """The peer: only loading the same cassettes with vcrpy (no parsing, no table)."""
    from vcr.serialize import deserialize
    from vcr.serializers import jsonserializer

    n = 0
    for p in sorted((run_dir / "cassettes").glob("*.json")):
        n += len(deserialize(p.read_text(), jsonserializer)[0])
    return n


def run() -> list[Result]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        make_cassettes(run_dir)
        rows = score_ours(run_dir)
        t_ours = best_time(lambda: score_ours(run_dir), repeat=3)
        t_peer = best_time(lambda: load_with_vcrpy(run_dir), repeat=3)
        out.append(
            Result(
                name=f"score {N_CASSETTES} cassettes ({rows} predictions)",
                ours_s=t_ours,
                peer="vcrpy: load only",
                peer_s=t_peer,
                note="target < 3 s",
            )
        )
    out.append(rate_run())
    return out
