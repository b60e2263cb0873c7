"""Media encoding and the chat messages of a batch."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen as mg

from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.settings import RequestSettings, Sample
from ger_replay.record import media
from ger_replay.record.messages import build_messages, image_digests


def decode(jpeg: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None
    return img


def test_encode_image_rgb_and_gray(tmp_path: Path) -> None:
    p = mg.write_image(tmp_path / "a.png", seed=3)
    rgb = media.encode_image(p, "rgb")
    gray = media.encode_image(p, "gray")
    assert rgb[:2] == b"\xff\xd8" and gray[:2] == b"\xff\xd8"  # JPEG
    assert decode(rgb).shape == (64, 64, 3)
    assert decode(gray).shape == (64, 64)
    assert rgb == media.encode_image(p, "rgb")  # deterministic
    with pytest.raises(ValueError):
        media.encode_image(p, "sepia")


def test_encode_image_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        media.encode_image(tmp_path / "missing.jpg", "rgb")
    assert "missing.jpg" in str(e.value)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"nope")
    with pytest.raises(InputError, match="cannot read"):
        media.encode_image(junk, "rgb")


def test_video_frames_are_jpegs_of_the_plan(tmp_path: Path) -> None:
    v = mg.write_index_video(tmp_path / "v.avi", 30, "MJPG")
    jpegs = media.video_frames(v, 3, "public", "rgb")
    assert [mg.read_index(decode(j)) for j in jpegs] == [0, 10, 20]
    grays = media.video_frames(v, 2, "centred", "gray")
    assert [decode(j).ndim for j in grays] == [2, 2]
    assert [mg.read_index(decode(j)) for j in grays] == [7, 22]


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("media")
    for i in range(3):
        mg.write_image(d / f"i{i}.png", seed=i)
    mg.write_index_video(d / "v0.avi", 20, "MJPG")
    mg.write_index_video(d / "v1.mp4", 25, "mp4v", seed=1)
    return d


def parts(messages: list[dict]) -> list[str]:
    return [p["text"] if p["type"] == "text" else p["type"] for p in messages[0]["content"][1:]]


def test_image_batch_messages(media_dir: Path) -> None:
    ds = datasets.get("rafdb")
    samples = [Sample(f"s{i}", "Fear", image=media_dir / f"i{i}.png") for i in range(3)]
    msgs = build_messages(ds, samples, RequestSettings())
    assert len(msgs) == 1 and msgs[0]["role"] == "user"
    content = msgs[0]["content"]
    assert content[0]["type"] == "text" and "We provide 3 images." in content[0]["text"]
    assert parts(msgs) == ["image-1", "image_url", "image-2", "image_url", "image-3", "image_url"]
    url = content[2]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    raw = base64.b64decode(url.split(",", 1)[1])
    assert raw == media.encode_image(media_dir / "i0.png", "rgb")
    digests = image_digests(msgs)
    assert digests[0] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert len(set(digests)) == 3
    # the same inputs give the same bytes; gray gives other bytes
    again = build_messages(ds, samples, RequestSettings())
    assert json.dumps(again) == json.dumps(msgs)
    gray = build_messages(ds, samples, RequestSettings(color="gray"))
    assert image_digests(gray) != digests
    assert decode(base64.b64decode(gray[0]["content"][2]["image_url"]["url"][23:])).ndim == 2


def test_digests_pass_through() -> None:
    msgs = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "sha256:ab"}}]}]
    assert image_digests(msgs) == ["sha256:ab"]


def test_video_and_multimodal_messages(media_dir: Path) -> None:
    videos = [
        Sample("a", "Sad", video=media_dir / "v0.avi", text="\tI am  fine.\n"),
        Sample("b", "Happy", video=media_dir / "v1.mp4", text="great"),
    ]
    dfew = datasets.get("dfew")
    msgs = build_messages(dfew, videos, RequestSettings(frames=2))
    assert parts(msgs) == [
        "video1_image1", "image_url", "video1_image2", "image_url",
        "video2_image1", "image_url", "video2_image2", "image_url",
    ]  # fmt: skip
    mer = datasets.get("mer_multi")
    multi = build_messages(mer, videos, RequestSettings(frames=3, modality="multi"))
    assert parts(multi)[0] == "I am  fine." and parts(multi)[7] == "great"
    assert parts(multi)[1:7:2] == ["video1_image1", "video1_image2", "video1_image3"]
    text = build_messages(mer, videos, RequestSettings(modality="text"))
    assert parts(text) == ["I am  fine.", "great"] and image_digests(text) == []


def test_tweet_messages(media_dir: Path) -> None:
    ds = datasets.get("mvsa_single")
    s = [Sample("t1", "neutral", image=media_dir / "i0.png", text="hello world")]
    msgs = build_messages(ds, s, RequestSettings())
    assert parts(msgs) == ["image-1", "image_url", "hello world"]
    assert "image-text pairs" in msgs[0]["content"][0]["text"]


def test_missing_media_is_an_error(media_dir: Path) -> None:
    with pytest.raises(InputError, match="no video"):
        build_messages(datasets.get("dfew"), [Sample("x", "Sad")], RequestSettings())
    with pytest.raises(InputError):
        build_messages(datasets.get("dfew"), [], RequestSettings())
