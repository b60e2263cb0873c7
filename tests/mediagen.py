"""Small synthetic test media written with OpenCV: images, videos whose pixels encode the frame
index (so a test can check that the frame returned is the frame planned), frame folders, and
clips whose brightness follows a given curve (for the motion-peak plan). All deterministic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]

#: Bits of the frame index drawn in the code band (indices up to 1023).
INDEX_BITS = 10


def _texture(width: int, height: int, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 216, (max(height // 8, 1), max(width // 8, 1), 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def index_frame(i: int, width: int = 128, height: int = 96, seed: int = 0) -> Frame:
    """A BGR frame whose top band encodes `i` in INDEX_BITS black/white columns over a textured,
    moving background."""
    frame = np.roll(_texture(width, height, seed), 2 * i, axis=1)
    band = height // 4
    col = width // INDEX_BITS
    for b in range(INDEX_BITS):
        frame[:band, b * col : (b + 1) * col] = 255 if (i >> b) & 1 else 0
    return np.ascontiguousarray(frame)


def read_index(frame: Frame) -> int:
    """The index encoded by `index_frame` (reads the centre of each column of the band)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    height, width = gray.shape
    band = height // 4
    col = width // INDEX_BITS
    value = 0
    for b in range(INDEX_BITS):
        cell = gray[band // 4 : 3 * band // 4, b * col + col // 4 : b * col + 3 * col // 4]
        if float(cell.mean()) > 127:
            value |= 1 << b
    return value


def write_video(
    path: Path, frames: Sequence[Frame], fourcc: str = "MJPG", fps: float = 25.0
) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} to {path}")
    for f in frames:
        writer.write(f)
    writer.release()
    return Path(path)


def write_index_video(
    path: Path,
    n_frames: int,
    fourcc: str = "MJPG",
    width: int = 128,
    height: int = 96,
    fps: float = 25.0,
    seed: int = 0,
) -> Path:
    """A video of `n_frames` frames, frame i encoding i (see `read_index`)."""
    height, width = height, width
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} to {path}")
    for i in range(n_frames):
        writer.write(index_frame(i, width, height, seed))
    writer.release()
    return Path(path)


def write_frame_folder(folder: Path, n_frames: int, width: int = 128, height: int = 96) -> Path:
    """A folder of PNG frames named so that sorted order is frame order; frame i encodes i."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_frames):
        cv2.imwrite(str(folder / f"frame_{i:05d}.png"), index_frame(i, width, height))
    return folder


def write_image(path: Path, seed: int = 0, width: int = 64, height: int = 64) -> Path:
    """A small textured image, different for each seed."""
    img = _texture(width, height, seed)
    cv2.putText(img, str(seed), (4, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255))
    if not cv2.imwrite(str(path), img):
        raise RuntimeError(f"OpenCV cannot write {path}")
    return Path(path)


def write_brightness_video(
    path: Path, levels: Sequence[int], fourcc: str = "MJPG", width: int = 64, height: int = 48
) -> Path:
    """A clip whose frame i is uniformly gray at `levels[i]` (a change curve to find peaks in)."""
    frames = [np.full((height, width, 3), lv, dtype=np.uint8) for lv in levels]
    return write_video(path, frames, fourcc)
