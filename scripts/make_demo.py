"""Records the demo runs in `cassettes/`: SYNTHETIC media (drawn with OpenCV, no real faces or
datasets) answered by the loopback simulator (not a model). They show the file formats and let
`ger-replay score cassettes/` and `ger-replay replay` run anywhere; their numbers mean nothing.

    python scripts/make_demo.py --force          # re-record cassettes/ (media in a temp folder)
    python scripts/make_demo.py --media DIR      # only write the media and manifests to DIR
    ger-replay replay cassettes/sfew2-demo --manifest DIR/sfew2/manifest.csv

The media are deterministic (seeded), so the manifests written by `--media` replay the
committed cassettes exactly.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ger_replay.protocol import datasets
from ger_replay.protocol.settings import RequestSettings
from ger_replay.record import recorder
from ger_replay.record.simulator import serve

ROOT = Path(__file__).resolve().parent.parent
NOTE = (
    "SYNTHETIC demo run: media drawn with OpenCV by scripts/make_demo.py and answered by the "
    "ger-replay loopback simulator, not by a model. Its scores mean nothing."
)
TEXTS = (
    "I can't believe this happened again today.",
    "That was honestly the best news I have heard all year.",
    "Well, we will see how it goes tomorrow.",
    "Why does nobody ever listen to what I say?",
    "Wait, what? You did all of this for me?",
    "I am not sure this is going to work out.",
)


@dataclass(frozen=True)
class Demo:
    name: str
    dataset: str
    samples: int
    modality: str


DEMOS = (
    Demo("sfew2-demo", "sfew2", 40, "image"),
    Demo("dfew-demo", "dfew", 24, "video"),
    Demo("mer_multi-demo", "mer_multi", 18, "multi"),
)


def face(rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """A cartoon face: random skin tone, eyes, brows and a mouth of random curvature."""
    img = np.full((size, size, 3), rng.integers(30, 90), np.uint8)
    c = size // 2
    skin = tuple(int(x) for x in rng.integers(120, 230, 3))
    cv2.circle(img, (c, c), int(size * 0.4), skin, -1)
    eye = int(size * 0.15)
    for dx in (-eye, eye):
        cv2.circle(img, (c + dx, c - eye // 2), max(2, size // 24), (20, 20, 20), -1)
        tilt = int(rng.integers(-4, 5))
        cv2.line(img, (c + dx - 6, c - eye - tilt), (c + dx + 6, c - eye + tilt), (10, 10, 10), 2)
    bend = int(rng.integers(-12, 13))
    cv2.ellipse(
        img,
        (c, c + eye),
        (eye, abs(bend) + 1),
        0,
        0 if bend > 0 else 180,
        180 if bend > 0 else 360,
        (40, 20, 120),
        2,
    )
    return img


def write_video(path: Path, rng: np.random.Generator, n_frames: int = 16) -> None:
    base = face(rng, 96)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 8.0, (96, 96))
    for i in range(n_frames):
        frame = np.roll(base, i - n_frames // 2, axis=1)
        writer.write(cv2.convertScaleAbs(frame, alpha=1.0, beta=float(i)))
    writer.release()


def write_media(folder: Path, demo: Demo) -> Path:
    """The demo's media and manifest (CSV, paths relative to it); deterministic."""
    ds = datasets.get(demo.dataset)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(demo.dataset.encode()))
    rows = []
    for i in range(demo.samples):
        sid = f"{demo.dataset}_{i:03d}"
        row = {"sample_id": sid, "gt": ds.labels[i % len(ds.labels)]}
        if demo.modality == "image":
            cv2.imwrite(str(folder / f"{sid}.png"), face(rng))
            row["image"] = f"{sid}.png"
        else:
            write_video(folder / f"{sid}.avi", rng)
            row["video"] = f"{sid}.avi"
        if demo.modality == "multi":
            row["text"] = TEXTS[i % len(TEXTS)]
        rows.append(row)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest


def record_demo(demo: Demo, media: Path, out: Path, force: bool) -> None:
    run_dir = out / demo.name
    if run_dir.exists():
        if not force:
            sys.exit(f"{run_dir} exists: pass --force to delete it and record it again")
        shutil.rmtree(run_dir)
    manifest = write_media(media / demo.dataset, demo)
    ds = datasets.get(demo.dataset)
    with serve(manifest, ds, accuracy=0.6, seed=1, refuse_rate=0.1, drop_rate=0.1) as sim:
        opts = recorder.RecordOptions(
            dataset=demo.dataset,
            manifest=manifest,
            out=run_dir,
            settings=RequestSettings(model="simulator", modality=demo.modality),  # type: ignore[arg-type]
            base_url=sim.url,
            name=demo.name,
            synthetic=True,
            note=NOTE,
            progress=False,
        )
        summary = recorder.record(opts)
    (run_dir / ".lock").unlink(missing_ok=True)
    print("\n".join(recorder.summary_lines(summary)), file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--media", type=Path, help="only write the media and manifests here")
    ap.add_argument("--out", type=Path, default=ROOT / "cassettes")
    ap.add_argument("--force", action="store_true", help="delete existing demo runs first")
    args = ap.parse_args()
    if args.media:
        for d in DEMOS:
            print(write_media(args.media / d.dataset, d))
        return
    os.environ.setdefault("OPENAI_API_KEY", "simulator-needs-no-key")
    with tempfile.TemporaryDirectory() as tmp:
        for d in DEMOS:
            record_demo(d, Path(tmp), args.out, args.force)


if __name__ == "__main__":
    main()
