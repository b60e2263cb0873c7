"""3 planned frames of a 10 s, 25 fps, 640x480 video: the Rust plan with only the planned frames
decoded (seeking past keyframes) against decoding every frame as the public code does."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from common import ROOT, Result, best_time, peak_mb

sys.path.insert(0, str(ROOT / "tests"))

K = 3
N_FRAMES = 250
SIZE = (640, 480)
#: (name, fourcc, extension); OpenCV here has no H.264 encoder, so VP8 stands in as a third codec
CODECS: tuple[tuple[str, str, str], ...] = (
    ("MJPG", "MJPG", "avi"),
    ("mp4v", "mp4v", "mp4"),
    ("H.264", "avc1", "mp4"),
    ("VP8", "VP80", "mkv"),
)


def ours(path: str) -> list[bytes]:
    from ger_replay.record.media import video_frames

    return video_frames(Path(path), K, "public", "rgb")


def peer(path: str) -> list[bytes]:
    """The public code's `sample_frames_from_video`, then JPEG encoding of the chosen frames."""
    frames = []
    cap = cv2.VideoCapture(path)
    while True:
        ret, frame = cap.read()
        if not ret:
            break
        frames.append(frame)
    cap.release()
    while len(frames) < K:
        frames.append(frames[-1])
    frames = frames[: int(len(frames) / K) * K]
    indices = np.arange(0, len(frames), int(len(frames) / K)).astype(int).tolist()
    return [cv2.imencode(".jpg", frames[i])[1].tobytes() for i in indices]


def ours_job_setup(path: str) -> str:
    """Imports the package before the measurement: only the decoding is charged."""
    import ger_replay.record.media  # noqa: F401

    return path


def ours_job(path: str) -> None:
    ours(path)


def peer_job_setup(path: str) -> str:
    return path


def peer_job(path: str) -> None:
    peer(path)


def _write(path: Path, fourcc: str) -> bool:
    import mediagen

    w, h = SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (w, h))
    if not writer.isOpened():
        return False
    for i in range(N_FRAMES):
        writer.write(mediagen.index_frame(i, w, h))
    writer.release()
    return path.is_file() and path.stat().st_size > 0


def run() -> list[Result]:
    from ger_replay.record.media import probe

    out: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, fourcc, ext in CODECS:
            path = Path(tmp) / f"clip_{fourcc}.{ext}"
            if not _write(path, fourcc):
                print(f"  {name}: OpenCV cannot write {fourcc} here; skipped", file=sys.stderr)
                continue
            info = probe(path)
            same = ours(str(path)) == peer(str(path))
            t_ours = best_time(lambda p=str(path): ours(p), repeat=5)
            t_peer = best_time(lambda p=str(path): peer(p), repeat=3)
            gop = N_FRAMES / max(len(info.keyframes), 1)
            out.append(
                Result(
                    name=f"3 frames, 10 s 640x480 {name}",
                    ours_s=t_ours,
                    peer="decode all (public code)",
                    peer_s=t_peer,
                    ours_mb=peak_mb("bench_frames", "ours_job", str(path)),
                    peer_mb=peak_mb("bench_frames", "peer_job", str(path)),
                    note=("same JPEG bytes" if same else "BYTES DIFFER") + f"; GOP {gop:.0f}",
                )
            )
    return out
