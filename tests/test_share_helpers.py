"""Builders shared by the bundle, share and untrusted-input tests: small run folders in the
layout of docs/run-format.md, and hand-made tar archives (imported by those test modules)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DIGEST = "sha256:" + "ab" * 32
LABELS = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]


def run_json(name: str, **over: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "schema_version": 1,
        "kind": "ger-replay-run",
        "name": name,
        "dataset": "sfew2",
        "task": "facial_emotion",
        "labels": LABELS,
        "model": "gpt-4o",
        "endpoint": "http://127.0.0.1:8000/v1",
        "template": "1",
        "template_text": None,
        "frames": 3,
        "frame_plan": "public",
        "color": "rgb",
        "modality": "image",
        "repeat": 0,
        "batch_size": 2,
        "max_tries": 3,
        "temperature": 0.0,
        "max_tokens": 1000,
        "seed": 0,
        "sample_order": ["s1", "s2", "s3"],
        "tool_version": "0.1.0",
        "created": "2026-11-20T10:31:02Z",
        "synthetic": True,
        "note": "synthetic test run",
    }
    meta.update(over)
    return meta


def interaction(samples: Sequence[str], answer: str, header: dict[str, Any] | None = None):
    body = json.dumps(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": DIGEST}}],
                }
            ],
            "model": "gpt-4o",
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]}
    return {
        "request": {
            "method": "POST",
            "uri": "http://127.0.0.1:8000/v1/chat/completions",
            "body": body,
            "headers": {"Content-Type": ["application/json"], **(header or {})},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": ["application/json"]},
            "body": {"string": json.dumps(completion)},
        },
    }


def cassette(batch: str, calls: Sequence[tuple[Sequence[str], str]]) -> dict[str, Any]:
    return {
        "interactions": [interaction(s, a) for s, a in calls],
        "metadata": {
            "ger_replay": {
                "batch": batch,
                "calls": [{"samples": list(s), "split": "", "attempt": 1} for s, _ in calls],
            }
        },
        "version": 1,
    }


def make_run(root: Path, name: str, **over: Any) -> Path:
    """A finished three-sample run of two batches."""
    run = root / name
    (run / "cassettes").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(run_json(name, **over), indent=1), encoding="utf-8")
    (run / "labels.csv").write_text("sample_id,gt\ns1,Happy\ns2,Sad\ns3,Angry\n", encoding="utf-8")
    answers = [
        (
            "b00000",
            [
                (
                    ["s1", "s2"],
                    "1. {'name': 'image-1', 'result': ['happy', 'sad']}\n"
                    "2. {'name': 'image-2', 'result': ['sad', 'happy']}",
                )
            ],
        ),
        ("b00001", [(["s3"], "{'name': 'image-1', 'result': ['neutral', 'angry']}")]),
    ]
    journal = [{"event": "open", "time": 0, "pid": 1, "resume": False}]
    for batch, calls in answers:
        f = run / "cassettes" / f"{batch}.json"
        f.write_text(json.dumps(cassette(batch, calls), indent=4) + "\n", encoding="utf-8")
        journal.append({"event": "batch_done", "batch": batch, "cassette": f"cassettes/{f.name}"})
    (run / "journal.jsonl").write_text(
        "".join(json.dumps(j) + "\n" for j in journal), encoding="utf-8"
    )
    return run


def tar_gz(members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A .tar.gz of hand-made members (links, devices, odd names allowed)."""
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return buf.getvalue()


def member(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info, (data if kind == tarfile.REGTYPE else None)


def gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def regzip(data: bytes, path: Path) -> None:
    path.write_bytes(gzip.compress(data, mtime=0))
