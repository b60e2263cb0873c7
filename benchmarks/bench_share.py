"""Bundles: packing against GNU tar, safe opening against the standard library's guarded
extraction (`tarfile` with `filter="data"`), and a gzip bomb against the same peer.

Inputs are generated: 10 synthetic runs of 100 batch cassettes, 10 interactions of ~4 KB each
(about 40 MB of JSON, the size DESIGN.md measures), and a tar.gz that expands to 256 MiB of zeros.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from common import Result, best_time, peak_mb

RUNS, BATCHES, CALLS = 10, 100, 10
BOMB_MIB = 256
_WORK = Path(tempfile.gettempdir()) / "ger-replay-bench-share"


def _answer(i: int) -> str:
    rows = [
        f"{k + 1}. {{'name': 'image-{k + 1}', 'result': ['happy', 'neutral', 'sad', 'angry', "
        f"'surprise']}}"
        for k in range(20)
    ]
    return f"As an expert ({i}), here are the results:\n" + "\n".join(rows)


def _cassette(b: int) -> dict:
    digest = "sha256:" + f"{b:064x}"
    inter = []
    for c in range(CALLS):
        body = json.dumps(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "Please play the role ... " * 20}]
                        + [{"type": "image_url", "image_url": {"url": digest}}] * 20,
                    }
                ],
                "model": "gpt-4o",
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        answer = {"choices": [{"index": 0, "message": {"content": _answer(b * CALLS + c)}}]}
        inter.append(
            {
                "request": {
                    "method": "POST",
                    "uri": "http://127.0.0.1:8000/v1/chat/completions",
                    "body": body,
                    "headers": {"Content-Type": ["application/json"]},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": json.dumps(answer)},
                },
            }
        )
    calls = [{"samples": [f"s{k}" for k in range(20)], "split": "", "attempt": 1}] * CALLS
    return {"interactions": inter, "metadata": {"ger_replay": {"calls": calls}}, "version": 1}


def _make_runs(root: Path) -> list[Path]:
    runs = []
    for r in range(RUNS):
        run = root / f"run-{r:02d}"
        (run / "cassettes").mkdir(parents=True)
        meta = {"schema_version": 1, "kind": "ger-replay-run", "name": run.name}
        meta |= {"dataset": "sfew2", "model": "gpt-4o", "batch_size": 20}
        (run / "run.json").write_text(json.dumps(meta))
        (run / "labels.csv").write_text(
            "sample_id,gt\n" + "".join(f"s{k},Happy\n" for k in range(20))
        )
        (run / "journal.jsonl").write_text('{"event": "open"}\n' * BATCHES)
        for b in range(BATCHES):
            (run / "cassettes" / f"b{b:05d}.json").write_text(json.dumps(_cassette(b), indent=4))
        runs.append(run)
    return runs


def _setup() -> tuple[list[Path], Path]:
    root = _WORK / "runs"
    if not root.is_dir():
        _make_runs(root)
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    bundle = _WORK / "b.tar.gz"
    if not bundle.exists():
        from ger_replay.io.bundle import pack

        pack(runs, bundle)
    return runs, bundle


def _bomb() -> Path:
    path = _WORK / "bomb.tar.gz"
    if not path.exists():
        head = tarfile.TarInfo("runs/big/cassettes/b00000.json")
        head.size = BOMB_MIB << 20
        chunk = gzip.compress(b"\0" * (1 << 20), mtime=0)
        with open(path, "wb") as f:
            f.write(gzip.compress(head.tobuf(format=tarfile.USTAR_FORMAT), mtime=0))
            for _ in range(BOMB_MIB):
                f.write(chunk)
            f.write(gzip.compress(b"\0" * 1024, mtime=0))
    return path


def ours_pack(runs: list[Path]) -> None:
    from ger_replay.io.bundle import pack

    pack(runs, _WORK / "o.tar.gz")


def peer_pack(runs: list[Path]) -> None:
    subprocess.run(
        ["tar", "-czf", str(_WORK / "p.tar.gz"), "-C", str(runs[0].parent), "."], check=True
    )


def _fresh(name: str) -> Path:
    d = _WORK / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    return d


def _imported(path: Path) -> Path:
    """peak_mb setup: imports happen before the measured call, so they are not charged."""
    from ger_replay.io import safe_archive  # noqa: F401

    return path


ours_open_setup = peer_open_setup = ours_bomb_setup = peer_bomb_setup = _imported


def ours_open(bundle: Path) -> None:
    from ger_replay.io import safe_archive

    safe_archive.extract(bundle, _fresh("o"))


def peer_open(bundle: Path) -> None:
    with tarfile.open(bundle, "r:gz") as tf:
        tf.extractall(_fresh("p"), filter="data")


def ours_verify(bundle: Path) -> None:
    from ger_replay.io.verify import verify

    assert verify(bundle) == []


def ours_bomb(path: Path) -> None:
    from ger_replay.io import safe_archive

    try:
        safe_archive.extract(path, _fresh("ob"), safe_archive.Limits(max_member=1 << 40))
    except safe_archive.ArchiveError:
        return
    raise AssertionError("the bomb was not stopped")


def peer_bomb(path: Path) -> None:
    with tarfile.open(path, "r:gz") as tf:
        tf.extractall(_fresh("pb"), filter="data")


def _written(name: str) -> float:
    return sum(p.stat().st_size for p in (_WORK / name).rglob("*") if p.is_file()) / (1 << 20)


def run() -> list[Result]:
    _WORK.mkdir(exist_ok=True)
    runs, bundle = _setup()
    size = sum(p.stat().st_size for r in runs for p in r.rglob("*") if p.is_file()) / (1 << 20)
    bomb = _bomb()
    out = [
        Result(
            "pack 10 runs (1,000 cassettes)",
            best_time(lambda: ours_pack(runs), repeat=2),
            "tar -czf",
            best_time(lambda: peer_pack(runs), repeat=2),
            note=f"{size:.0f} MB of JSON; ours also hashes and scans every byte",
        ),
        Result(
            "open bundle (safe extract)",
            best_time(lambda: ours_open(bundle), repeat=3),
            "tarfile data filter",
            best_time(lambda: peer_open(bundle), repeat=3),
            ours_mb=peak_mb("bench_share", "ours_open", bundle),
            peer_mb=peak_mb("bench_share", "peer_open", bundle),
        ),
        Result(
            "verify bundle (all checks)",
            best_time(lambda: ours_verify(bundle), repeat=2),
            "tarfile data filter",
            best_time(lambda: peer_open(bundle), repeat=2),
            note="peer only extracts: no checksums, schema or secret scan",
        ),
    ]
    ours_s = best_time(lambda: ours_bomb(bomb), repeat=3)
    ours_disk = _written("ob")
    peer_s = best_time(lambda: peer_bomb(bomb), repeat=1)
    peer_disk = _written("pb")
    out.append(
        Result(
            f"gzip bomb ({BOMB_MIB} MiB of zeros)",
            ours_s,
            "tarfile data filter",
            peer_s,
            ours_mb=peak_mb("bench_share", "ours_bomb", bomb),
            peer_mb=peak_mb("bench_share", "peer_bomb", bomb),
            note=f"disk written: ours {ours_disk:.0f} MiB, peer {peer_disk:.0f} MiB",
        )
    )
    shutil.rmtree(_WORK / "pb", ignore_errors=True)
    return out
