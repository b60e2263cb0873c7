"""Frame plans (Rust) and the decoding that follows them: the frame returned is the frame planned
(each test video encodes its frame index in its pixels)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen as mg

from ger_replay import _core
from ger_replay.errors import InputError
from ger_replay.record import media


def public_reference(n: int, k: int) -> list[int]:
    """The public code's sampling, transcribed with numpy over frame indices."""
    frames = list(range(n))
    while len(frames) < k:
        frames.append(frames[-1])
    frames = frames[: len(frames) // k * k]
    idx = np.arange(0, len(frames), len(frames) // k).astype(int).tolist()
    return [frames[i] for i in idx]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 49, 250, 251, 1000])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_public_plan_is_the_public_rule(n: int, k: int) -> None:
    assert _core.frame_plan(n, k) == public_reference(n, k)
    assert _core.frame_plan(n, k, "public") == public_reference(n, k)


def test_centred_plan() -> None:
    assert _core.frame_plan(9, 3, "centred") == [1, 4, 7]
    assert _core.frame_plan(250, 3, "centred") == [41, 125, 208]
    assert _core.frame_plan(1, 3, "centred") == [0, 0, 0]


@pytest.mark.parametrize(
    ("args", "msg"),
    [((0, 3, "public"), "no frames"), ((5, 0, "public"), "at least 1"), ((5, 2, "x"), "unknown")],
)
def test_plan_errors(args: tuple[int, int, str], msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        _core.frame_plan(*args)


def test_motion_peak_plan_binding() -> None:
    levels = np.array([0, 0, 5, 30, 90, 60, 10, 0], dtype=np.uint8)
    thumbs = np.repeat(levels, 16).reshape(len(levels), 4, 4)
    assert _core.motion_peak_plan(thumbs, 1) == [4]
    # a non-contiguous view gives the same answer
    wide = np.repeat(levels, 32).reshape(len(levels), 4, 8)[:, :, ::2]
    assert not wide.flags["C_CONTIGUOUS"]
    assert _core.motion_peak_plan(wide, 1) == [4]
    with pytest.raises(ValueError):
        _core.motion_peak_plan(np.zeros((0, 4, 4), np.uint8), 1)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    out = {
        "mjpg": mg.write_index_video(d / "v.avi", 100, "MJPG"),
        "mp4v": mg.write_index_video(d / "v.mp4", 100, "mp4v"),
        "short": mg.write_index_video(d / "short.avi", 2, "MJPG"),
        "folder": mg.write_frame_folder(d / "frames", 7),
    }
    return out


def indices(frames: list[np.ndarray]) -> list[int]:
    return [mg.read_index(f) for f in frames]


@pytest.mark.parametrize("kind", ["mjpg", "mp4v"])
@pytest.mark.parametrize("plan", ["public", "centred"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_decoded_frames_are_the_planned_ones(
    videos: dict[str, Path], kind: str, plan: str, k: int
) -> None:
    got = indices(media.sample_frames(videos[kind], k, plan))
    assert got == _core.frame_plan(100, k, plan)


def test_probe_counts_packets_and_keyframes(videos: dict[str, Path]) -> None:
    mj = media.probe(videos["mjpg"])
    assert mj.n_frames == 100 and len(mj.keyframes) == 100
    mp = media.probe(videos["mp4v"])
    assert mp.n_frames == 100
    assert 0 in mp.keyframes and len(mp.keyframes) < 100


def test_short_video_repeats_its_last_frame(videos: dict[str, Path]) -> None:
    assert indices(media.sample_frames(videos["short"], 3, "public")) == [0, 1, 1]


def test_folder_takes_first_k_files_under_the_public_rule(videos: dict[str, Path]) -> None:
    assert indices(media.sample_frames(videos["folder"], 3, "public")) == [0, 1, 2]
    assert indices(media.sample_frames(videos["folder"], 3, "centred")) == [1, 3, 5]
    assert indices(media.sample_frames(videos["folder"], 9, "public")) == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        6,
        6,
    ]


def test_decode_reports_an_early_end(videos: dict[str, Path]) -> None:
    got, seen = media.decode_planned(videos["mjpg"], [10, 150])
    assert indices([got[10]]) == [10] and 150 not in got
    assert seen == 100


def test_truncated_file_is_replanned_from_the_frames_seen(tmp_path: Path) -> None:
    full = mg.write_index_video(tmp_path / "full.avi", 120, "MJPG")
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])  # the header still claims 120 frames
    frames = media.sample_frames(cut, 3, "public")
    got = indices(frames)
    assert len(got) == 3
    seen = max(got) + 1
    assert got == _core.frame_plan(_decodable(cut), 3, "public")
    assert seen < 120


def _decodable(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_motion_peak_picks_the_apex(tmp_path: Path) -> None:
    levels = [20] * 10 + [40, 80, 140, 200, 150, 90, 40] + [20] * 13
    clip = mg.write_brightness_video(tmp_path / "m.avi", levels)
    (frame,) = media.sample_frames(clip, 1, "motion-peak")
    assert abs(float(frame.mean()) - 200) < 6
    peaks = media.sample_frames(clip, 3, "motion-peak")
    assert max(float(f.mean()) for f in peaks) > 190


def test_missing_and_bad_videos(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        media.sample_frames(tmp_path / "nope.mp4", 3)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(InputError) as e:
        media.sample_frames(bad, 3)
    assert "bad.mp4" in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no file"):
        media.sample_frames(empty, 3)


@pytest.mark.parametrize("kind", ["mjpg", "mp4v"])
def test_a_count_that_lies_is_replanned(
    videos: dict[str, Path], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    true = media.probe(videos[kind])
    monkeypatch.setattr(media, "probe", lambda p: media.StreamInfo(160, true.keyframes))
    got = indices(media.sample_frames(videos[kind], 3, "public"))
    assert got == _core.frame_plan(100, 3, "public")  # not the plan for 160 frames
