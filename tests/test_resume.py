"""Resume: the recorder killed with SIGKILL at random moments twenty times while it records
against the simulator, resumed each time. At the end every sample is answered or unanswered with
a reason, no finished batch was asked again, every file loads, and calls paid for were kept.

The recorder runs in processes forked from a "zygote" that imported everything once and started
no thread (so forking is safe and each start costs milliseconds, not an interpreter start-up)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from recordkit import FAKE_KEY, image_manifest

from ger_replay.io import journal, rundir
from ger_replay.io import load as sources
from ger_replay.protocol import datasets
from ger_replay.record import cassettes
from ger_replay.record.simulator import serve

KILLS = 20


def zygote(conn: Any, kwargs: dict[str, Any]) -> None:
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import manifest, messages, recorder  # noqa: F401  (preload)

    opts = recorder.RecordOptions(settings=RequestSettings(model="simulated-model"), **kwargs)
    while conn.recv() == "go":
        pid = os.fork()
        if pid == 0:  # the recorder
            try:
                summary = recorder.record(opts)
                code = 0 if summary.complete else 4
            except BaseException:
                code = 3
            os._exit(code)
        conn.send(pid)
        _, status = os.waitpid(pid, 0)
        conn.send(status)


def _lines(run: Path) -> int:
    try:
        return (run / rundir.JOURNAL).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for_lines(run: Path, n: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while _lines(run) < n and time.monotonic() < end:
        time.sleep(0.005)


def test_killed_twenty_times_and_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 90, "sfew2")
    out = tmp_path / "run"
    rng = random.Random(7)
    faults = dict(refuse_rate=0.2, drop_rate=0.15, error_rate=0.1, cut_rate=0.05)
    with serve(manifest, datasets.get("sfew2"), seed=11, **faults) as sim:  # type: ignore[arg-type]
        kwargs = dict(
            dataset="sfew2",
            manifest=manifest,
            out=out,
            base_url=sim.url,
            batch_size=3,
            max_tries=2,
            rpm=600,
            backoff=0.01,
            progress=False,
        )
        ctx = mp.get_context("spawn")
        here, there = ctx.Pipe()
        z = ctx.Process(target=zygote, args=(there, kwargs), daemon=True)
        z.start()
        kills, finished_early = 0, False
        try:
            while kills < KILLS:
                lines = _lines(out)
                here.send("go")
                pid = here.recv()
                if kills % 4 == 0:  # anywhere, start-up included
                    time.sleep(rng.uniform(0.02, 0.6))
                else:  # mid-recording: after a few more journal lines, plus a little
                    _wait_for_lines(out, lines + rng.randint(2, 6), timeout=10)
                    time.sleep(rng.uniform(0.0, 0.08))
                os.kill(pid, signal.SIGKILL)
                status = here.recv()
                if os.WIFSIGNALED(status):
                    kills += 1
                else:
                    finished_early = True
                    break
            here.send("go")  # the last resume, left to finish
            here.recv()
            status = here.recv()
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
            here.send("stop")
        finally:
            z.join(timeout=10)
            if z.is_alive():
                z.kill()
        answered_at_sim = sim.stats.get("answered", 0)

    assert not finished_early and kills == KILLS
    # every file loads
    meta = rundir.read_meta(out)
    labels = rundir.read_labels(out)
    events = journal.read(out / rundir.JOURNAL)
    assert [p for p in out.rglob("*.tmp")] == []
    all_batches = rundir.batches(meta["sample_order"], meta["batch_size"])
    done = Counter(e["batch"] for e in events if e["event"] == "batch_done")
    assert set(done) == {b for b, _ in all_batches}
    assert max(done.values()) == 1  # no batch finished twice
    recorded = 0
    for b, ids in all_batches:
        inter = cassettes.read(rundir.cassette_path(out, b))
        recorded += len(inter)
        assert inter[0].meta["samples"] == ids and inter[0].meta["attempt"] == 1
    # A kill can lose only the call in flight (answered, not yet written): never a batch.
    assert recorded <= answered_at_sim <= recorded + kills
    assert sum(1 for e in events if e["event"] == "open") >= kills * 3 // 4 + 1
    # every sample answered, or unanswered with a reason
    loaded = sources.load([out])
    assert loaded.errors == []
    df = loaded.table
    assert df.height == len(labels) == 90
    assert set(df["status"]) <= {
        *("ok", "no_candidate", "refused", "count_mismatch", "unparseable", "no_label")
    }
    assert df.filter(df["status"] != "ok")["reason"].null_count() == 0
    # resumed calls were served from the cut batches' cassettes, not paid again
    assert any(e.get("replayed") for e in events if e["event"] == "call") or kills == 0
    json.dumps(meta)
