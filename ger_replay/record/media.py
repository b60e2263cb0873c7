"""Media for requests, read with OpenCV: images as JPEG bytes, and the planned frames of a video.

Frames follow a plan made in Rust (`ger_replay._core`) from the frame count, and only the planned
frames are decoded:

1. A demux-only pass (`CAP_PROP_FORMAT = -1`: packets are read, nothing is decoded) counts the
   frames and finds the keyframes. It costs milliseconds and, unlike `CAP_PROP_FRAME_COUNT`, does
   not trust the container's header.
2. The plan picks `k` indices from that count (public rule, centred, or motion peaks).
3. Decoding goes forward with `grab()` and calls `retrieve()` on planned frames only. Where a
   keyframe lies between the current position and the next planned frame, it seeks instead
   (the decoder restarts from that keyframe); a seek that does not land where asked is undone by
   decoding forward from a fresh start.
4. If the stream ends before a planned frame, the plan is made again from the frames actually
   seen, and decoding starts over.

A folder of pre-extracted frames takes its files in sorted order: under the public plan the first
`k` files (PROTOCOL.md part 7); under the other plans the plan runs over the sorted files. A
folder with fewer than `k` files repeats its last file, as a short video repeats its last frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

import ger_replay._core as _core
from ger_replay.errors import InputError

#: Side of the square grayscale thumbnails the motion-peak plan compares.
THUMB_SIDE = 32
PLANS: tuple[str, ...] = ("public", "centred", "motion-peak")

Frame = npt.NDArray[np.uint8]


def to_jpeg(image: Frame, color: str) -> bytes:
    """JPEG bytes of a BGR (or already gray) image, converted to gray when `color == "gray"`."""
    if color not in ("rgb", "gray"):
        raise ValueError(f"color must be 'rgb' or 'gray', not {color!r}")
    if color == "gray" and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    ok, buf = cv2.imencode(".jpg", image)
    if not ok:
        raise ValueError("OpenCV could not encode the image as JPEG")
    return buf.tobytes()


def read_image(path: Path) -> Frame:
    """An image file as a BGR array; InputError naming the file if OpenCV cannot read it."""
    if not Path(path).is_file():
        raise InputError("image file not found", path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("OpenCV cannot read this file as an image", path)
    return image


def encode_image(path: Path, color: str) -> bytes:
    """The JPEG bytes sent for an image file (the public code: imread, optional gray, imencode)."""
    return to_jpeg(read_image(Path(path)), color)


@dataclass(frozen=True)
class StreamInfo:
    """What the demux-only pass learnt: the frame count and the keyframe indices."""

    n_frames: int
    keyframes: tuple[int, ...]


@contextmanager
def _capture(path: Path, raw: bool = False) -> Iterator[cv2.VideoCapture]:
    if raw:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    else:
        cap = cv2.VideoCapture(str(path))
    try:
        yield cap
    finally:
        cap.release()


def probe(path: Path) -> StreamInfo:
    """Frame count and keyframes from the packets, without decoding. Falls back to the header's
    frame count (and no keyframes) where the demuxer cannot be opened in raw mode."""
    path = Path(path)
    if not path.is_file():
        raise InputError("video file not found", path)
    with _capture(path, raw=True) as cap:
        if cap.isOpened():
            keys: list[int] = []
            n = 0
            while cap.grab():
                if cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                    keys.append(n)
                n += 1
            if n > 0:
                return StreamInfo(n, tuple(keys))
    with _capture(path) as cap:
        if not cap.isOpened():
            raise InputError("OpenCV cannot open this file as a video", path)
        return StreamInfo(max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0), ())


def _thumb(frame: Frame) -> Frame:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return cv2.resize(gray, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA)


def video_thumbnails(path: Path) -> Frame:
    """Every frame of a video as a small grayscale thumbnail, shape (T, THUMB_SIDE, THUMB_SIDE),
    streamed: one full frame in memory at a time."""
    thumbs: list[Frame] = []
    with _capture(Path(path)) as cap:
        if not cap.isOpened():
            raise InputError("OpenCV cannot open this file as a video", path)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            thumbs.append(_thumb(frame))
    if not thumbs:
        raise InputError("the video has no decodable frame", path)
    return np.stack(thumbs)


def plan_frames(n_frames: int, k: int, plan: str, thumbs: Frame | None = None) -> list[int]:
    """Frame indices of a plan. "motion-peak" needs the thumbnails of all frames."""
    if plan == "motion-peak":
        if thumbs is None:
            raise ValueError("the motion-peak plan needs thumbnails")
        return _core.motion_peak_plan(np.ascontiguousarray(thumbs[:n_frames]), k)
    if plan not in PLANS:
        raise ValueError(f"unknown frame plan {plan!r}; known: {', '.join(PLANS)}")
    return _core.frame_plan(n_frames, k, plan)


def decode_planned(
    path: Path, indices: Sequence[int], keyframes: Sequence[int] = ()
) -> tuple[dict[int, Frame], int]:
    """Decodes the frames at `indices` (BGR), forward, seeking only past a keyframe.

    Returns the frames found and the number of frames seen: if that is smaller than the largest
    index, the stream ended early and the caller re-plans."""
    wanted = sorted(set(indices))
    got: dict[int, Frame] = {}
    keys = sorted(keyframes)
    with _capture(Path(path)) as cap:
        if not cap.isOpened():
            raise InputError("OpenCV cannot open this file as a video", path)
        pos = 0  # index of the frame the next grab() returns
        seek = bool(keys)
        for target in wanted:
            # the last keyframe at or before the target
            key = max((q for q in keys if q <= target), default=0)
            if seek and key > pos:
                cap.set(cv2.CAP_PROP_POS_FRAMES, target)
                if int(cap.get(cv2.CAP_PROP_POS_FRAMES)) == target:
                    pos = target
                else:  # the seek missed: decode forward from the first frame from now on
                    seek = False
                    cap.release()
                    cap.open(str(path))
                    pos = 0
            while pos < target:
                if not cap.grab():
                    return got, pos
                pos += 1
            if not cap.grab():
                return got, pos
            ok, frame = cap.retrieve()
            if not ok:
                return got, pos
            got[target] = frame
            pos += 1
    return got, pos


def _folder_frames(folder: Path, k: int, plan: str) -> list[Frame]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputError("the frame folder holds no file", folder)
    if plan == "public":
        chosen = files[:k]
        chosen += [chosen[-1]] * (k - len(chosen))
        return [read_image(p) for p in chosen]
    thumbs = None
    if plan == "motion-peak":
        thumbs = np.stack([_thumb(read_image(p)) for p in files])
    indices = plan_frames(len(files), k, plan, thumbs)
    cache = {i: read_image(files[i]) for i in set(indices)}
    return [cache[i] for i in indices]


def _file_frames(path: Path, k: int, plan: str) -> list[Frame]:
    info = probe(path)
    thumbs = video_thumbnails(path) if plan == "motion-peak" else None
    n = info.n_frames if thumbs is None else len(thumbs)
    keyframes = info.keyframes
    for _ in range(3):
        if n <= 0:
            raise InputError("the video has no decodable frame", path)
        indices = plan_frames(n, k, plan, thumbs)
        got, seen = decode_planned(path, indices, keyframes)
        if all(i in got for i in indices):
            return [got[i] for i in indices]
        # The stream ended early: plan again from the frames actually seen.
        n = seen
        if thumbs is not None:
            thumbs = thumbs[:seen]
        keyframes = tuple(q for q in keyframes if q < seen)
    raise InputError(f"could not decode the {k} planned frames", path)


def sample_frames(path: Path, k: int, plan: str = "public") -> list[Frame]:
    """The `k` planned frames of a video file or frame folder, as BGR arrays."""
    path = Path(path)
    if k < 1:
        raise ValueError(f"frames per video must be at least 1, got {k}")
    if plan not in PLANS:
        raise ValueError(f"unknown frame plan {plan!r}; known: {', '.join(PLANS)}")
    if path.is_dir():
        return _folder_frames(path, k, plan)
    if not path.is_file():
        raise InputError("video file or frame folder not found", path)
    return _file_frames(path, k, plan)


def video_frames(path: Path, k: int, plan: str, color: str) -> list[bytes]:
    """JPEG bytes of the `k` planned frames of a video file or frame folder."""
    return [to_jpeg(f, color) for f in sample_frames(Path(path), k, plan)]
