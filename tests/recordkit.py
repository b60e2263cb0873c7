"""Helpers for the recorder's tests: small synthetic manifests (images written with OpenCV) and
a simulator started on loopback."""

from __future__ import annotations

import csv
from pathlib import Path

from mediagen import write_image

from ger_replay.protocol import datasets

# Built at run time, so no key-shaped string is committed.
FAKE_KEY = "sk-" + "test-SECRETKEY-0123456789abcdef"


def image_manifest(folder: Path, n: int, dataset: str = "sfew2", offset: int = 0) -> Path:
    """`n` distinct 48x48 images and a CSV manifest whose ground truth cycles the labels."""
    labels = datasets.get(dataset).labels
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample_id", "gt", "image"])
        for i in range(n):
            name = f"s{i + offset:04d}.png"
            write_image(media / name, seed=1000 + i + offset, width=48, height=48)
            w.writerow([f"s{i + offset:04d}", labels[i % len(labels)], f"media/{name}"])
    return path


def record_run(
    folder: Path,
    n: int = 24,
    dataset: str = "sfew2",
    batch_size: int = 8,
    concurrency: int = 1,
    rpm: float | None = None,
    **faults: float,
) -> tuple[Path, Path, dict[str, int]]:
    """Records a small run against a fresh simulator; returns (run dir, manifest, sim stats)."""
    import os

    manifest = image_manifest(folder, n, dataset)
    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = FAKE_KEY
    try:
        return _record(folder, manifest, dataset, batch_size, concurrency, rpm, faults)
    finally:
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old


def _record(
    folder: Path,
    manifest: Path,
    dataset: str,
    batch_size: int,
    concurrency: int,
    rpm: float | None,
    faults: dict[str, float],
) -> tuple[Path, Path, dict[str, int]]:
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import recorder
    from ger_replay.record.simulator import serve

    with serve(manifest, datasets.get(dataset), seed=3, **faults) as sim:  # type: ignore[arg-type]
        opts = recorder.RecordOptions(
            dataset,
            manifest,
            folder / "run",
            RequestSettings(model="simulated-model"),
            base_url=sim.url,
            batch_size=batch_size,
            concurrency=concurrency,
            rpm=rpm,
            backoff=0.01,
            progress=False,
        )
        summary = recorder.record(opts)
        assert summary.complete, recorder.summary_lines(summary)
        stats = sim.stats
    return folder / "run", manifest, stats
