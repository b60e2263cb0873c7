"""Two things a researcher waits for before the first answer: a dead endpoint reported (the
preflight against the recorder's own retry policy, which was all there was before it), and the
manifest of a test set built from a large dataset folder (against `find` walking the same tree).

    GER_BENCH_PEER_RETRIES=0 python benchmarks/run.py preflight   # skip the minutes-long peer
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from common import Result, best_time

N_FILES, N_TESTS = 44_000, 4_000


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def _record_until_error(tmp: Path, preflight: bool) -> tuple[float, str]:
    from recordkit import FAKE_KEY, image_manifest

    from ger_replay.errors import GerReplayError
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import recorder

    os.environ.setdefault("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp, 4)
    out = tmp / f"run-{preflight}-{time.monotonic_ns()}"
    opts = recorder.RecordOptions(
        "sfew2",
        manifest,
        out,
        RequestSettings(model="gpt-4o"),
        base_url=f"http://127.0.0.1:{_dead_port()}/v1",
        progress=False,
        preflight=preflight,
    )
    t0 = time.monotonic()
    try:
        s = recorder.record(opts)
        message = "; ".join(s.errors)[:80]
    except GerReplayError as e:
        message = str(e)[:80]
    return time.monotonic() - t0, message


def dead_port() -> list[Result]:
    with tempfile.TemporaryDirectory() as d:
        ours, message = min(_record_until_error(Path(d), True) for _ in range(3))
        if os.environ.get("GER_BENCH_PEER_RETRIES", "1") == "0":
            return []
        peer, peer_message = _record_until_error(Path(d), False)
    return [
        Result(
            name="dead port: record until a clear error",
            ours_s=ours,
            peer="the client's retry policy alone (8 backoffs)",
            peer_s=peer,
            note=f"ours: {message!r}; peer: {peer_message!r}",
        )
    ]


def _tree(root: Path) -> Path:
    """AffectNet's shape: <n>/<hash>.jpg in 11 folders; every 11th file a test sample."""
    labels = ["Surprise", "Contempt", "Happiness", "Anger", "Neutral", "Sadness", "Fear"]
    images = root / "AffectNet" / "Manually_Annotated_Images"
    rows = []
    for i in range(N_FILES):
        name = f"{i % 11}/{i:08x}0123456789abcdef.jpg"
        path = images / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        if i % 11 == 0 and len(rows) < N_TESTS:
            rows.append((name, labels[i % 7], ""))
    tests = root / "results" / "affectnet"
    tests.mkdir(parents=True)
    with (tests / "label.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "gt", "gpt4v"])
        w.writerows(rows)
    return root


def manifest_build() -> list[Result]:
    from ger_replay.record.manifest_build import build

    with tempfile.TemporaryDirectory() as d:
        root = _tree(Path(d))
        media = root / "AffectNet"

        def ours() -> None:
            got = build("affectnet", media, root / "m.csv", tests=root / "results")
            assert got.written == N_TESTS

        def peer() -> None:
            subprocess.run(["find", str(media), "-type", "f"], check=True, capture_output=True)

        return [
            Result(
                name=f"manifest: {N_TESTS:,} test samples among {N_FILES:,} files",
                ours_s=best_time(ours, repeat=3),
                peer="find -type f (the walk alone)",
                peer_s=best_time(peer, repeat=3),
                note="ours also reads the test list and matches every name",
            )
        ]


def run() -> list[Result]:
    return [*manifest_build(), *dead_port()]
