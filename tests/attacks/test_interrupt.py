"""Attack: Ctrl-C (or SIGTERM) while recording at --concurrency 4 against slow answers, and a
second recorder let in by deleting the `.lock` file. The first signal stops new requests at once
(calls after it bounded by those in flight), prints the summary and the resume command and exits
130; a second one exits at once; nothing recorded is lost and nothing is paid twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from attackkit import KEY
from hostile import Hostile
from recordkit import image_manifest

from ger_replay.io import journal, rundir
from ger_replay.record import cassettes

CONCURRENCY = 4
HANG_GUARD = 120  # seconds: only a hang fails here, never slowness


def _start(tmp: Path, url: str) -> subprocess.Popen[bytes]:
    manifest = tmp / "manifest.csv"
    if not manifest.exists():
        image_manifest(tmp, 40)
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    cmd = [
        sys.executable,
        "-m",
        "ger_replay.cli",
        "record",
        "--dataset",
        "sfew2",
        "--manifest",
        str(manifest),
        "--out",
        str(tmp / "run"),
        "--base-url",
        url,
        "--batch-size",
        "2",
        "--concurrency",
        str(CONCURRENCY),
        "--model",
        "hostile",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _responses(run: Path) -> int:
    try:
        return sum(e["event"] == "response" for e in journal.read(run / rundir.JOURNAL))
    except Exception:
        return 0


def _wait_responses(run: Path, n: int) -> None:
    end = time.monotonic() + HANG_GUARD
    while _responses(run) < n:
        assert time.monotonic() < end, "the recorder made no progress"
        time.sleep(0.05)


def interrupt(
    tmp: Path, signals: int = 1, sig: int = signal.SIGINT, slow: float = 1.0
) -> dict[str, float]:
    """Records against slow answers, signals once (or twice), and measures; the resume runs
    against quick answers."""
    with Hostile("slow", slow=1.0) as h:
        p = _start(tmp, h.url)
        _wait_responses(tmp / "run", CONCURRENCY)
        h.slow = slow
        if slow > 1.0:  # let every worker be inside a slow call
            n_set = h.requests
            end = time.monotonic() + HANG_GUARD
            while h.requests < n_set + CONCURRENCY and time.monotonic() < end:
                time.sleep(0.05)
        at_signal = h.requests
        t0 = time.monotonic()
        for _ in range(signals):
            p.send_signal(sig)
            time.sleep(0.05)
        _out, err = p.communicate(timeout=HANG_GUARD)
        latency = time.monotonic() - t0
        after = sum(1 for a in h.arrivals if a > t0)
        first_requests = h.requests
        # the resume finishes the run; nothing the journal holds is paid again
        h.slow = 0.05
        p2 = _start(tmp, h.url)
        p2.communicate(timeout=HANG_GUARD)
        total = h.requests
    recorded = sum(len(cassettes.read(f)) for f in (tmp / "run" / rundir.CASSETTES).glob("b*.json"))
    return {
        "rc": p.returncode,
        "rc_resume": p2.returncode,
        "latency": latency,
        "at_signal": at_signal,
        "after_signal": after,
        "first_requests": first_requests,
        "total": total,
        "recorded": recorded,
        "stderr": err.decode(errors="replace"),  # type: ignore[dict-item]
    }


def test_first_ctrl_c_stops_new_requests_and_tells_how_to_resume(tmp_path: Path) -> None:
    got = interrupt(tmp_path)
    assert got["rc"] == 130, got["stderr"]
    assert got["after_signal"] <= CONCURRENCY
    assert got["first_requests"] < 20  # 20 batches: the run was stopped, not finished
    err = str(got["stderr"])
    assert "stopped by SIGINT" in err and "ger-replay record" in err and "--concurrency" in err
    assert got["rc_resume"] == 0
    # every call paid for is in the cassettes: none lost, none paid twice
    assert got["total"] == got["recorded"]


def test_sigterm_stops_the_same_way(tmp_path: Path) -> None:
    got = interrupt(tmp_path, sig=signal.SIGTERM)
    assert got["rc"] == 130 and "stopped by SIGTERM" in str(got["stderr"])
    assert got["after_signal"] <= CONCURRENCY
    assert got["total"] == got["recorded"]


def test_second_ctrl_c_exits_at_once_and_loses_nothing_recorded(tmp_path: Path) -> None:
    got = interrupt(tmp_path, signals=2)
    assert got["rc"] == 130
    # only the calls in flight at the hard exit may be paid again
    assert got["total"] - got["recorded"] <= CONCURRENCY


def test_calls_slower_than_the_grace_are_abandoned_and_asked_again(tmp_path: Path) -> None:
    from ger_replay.record.recorder import STOP_GRACE

    got = interrupt(tmp_path, slow=STOP_GRACE * 12)
    assert got["rc"] == 130 and "abandoned" in str(got["stderr"]), got["stderr"]
    assert got["after_signal"] <= CONCURRENCY
    # the abandoned calls were paid but not recorded: asked again, at most one per worker
    assert got["rc_resume"] == 0 and got["total"] - got["recorded"] <= CONCURRENCY


def test_deleting_the_lock_file_does_not_let_a_second_recorder_in(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with rundir.locked(run):
        (run / rundir.LOCK).unlink()
        with pytest.raises(rundir.LockedError), rundir.locked(run):
            pass
        (run / rundir.LOCK).write_text("999999\n")
        with pytest.raises(rundir.LockedError), rundir.locked(run):
            pass
    with rundir.locked(run):  # released with the block
        pass


if (
    __name__ == "__main__"
):  # the figures of the closing note: python tests/attacks/test_interrupt.py
    import tempfile

    for sig, n, slow in (
        (signal.SIGINT, 1, 1.0),
        (signal.SIGINT, 2, 1.0),
        (signal.SIGTERM, 1, 1.0),
        (signal.SIGINT, 1, 60.0),
    ):
        with tempfile.TemporaryDirectory() as d:
            g = interrupt(Path(d), n, sig, slow)
            print(
                f"{signal.Signals(sig).name} x{n}, answers taking {slow:.0f} s: exit {g['rc']}, "
                f"stopped in {g['latency']:.2f} s, "
                f"{g['after_signal']} call(s) after the signal, {g['first_requests']} made before "
                f"exit; resume: {g['total']} paid in all, {g['recorded']} recorded"
            )
