"""Manifests: CSV and JSONL, paths relative to the manifest, every problem reported at once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen as mg

from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.record.manifest import ManifestError, load_manifest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    for i in range(3):
        mg.write_image(tmp_path / "img" / f"{i}.png", seed=i, width=16, height=16)
    mg.write_index_video(tmp_path / "v.avi", 6, "MJPG", width=32, height=24)
    mg.write_frame_folder(tmp_path / "frames", 4, width=32, height=24)
    (tmp_path / "t.txt").write_text("a spoken line\n", encoding="utf-8")
    return tmp_path


def test_csv_image_manifest(folder: Path) -> None:
    (folder / "m.csv").write_text(
        "sample_id,gt,image,extra\na,happy,img/0.png,x\nb,Sad,img/1.png,y\n", encoding="utf-8"
    )
    samples = load_manifest(folder / "m.csv", datasets.get("sfew2"))
    assert [s.sample_id for s in samples] == ["a", "b"]
    assert samples[0].gt == "happy" and samples[0].image == folder / "img" / "0.png"
    assert samples[0].video is None and samples[0].text is None


def test_jsonl_multimodal_manifest(folder: Path) -> None:
    rows = [
        {"sample_id": "x", "gt": "-1.5", "video": "v.avi", "text": "inline words"},
        {"sample_id": "y", "gt": 0, "video": "frames", "text_file": "t.txt"},
    ]
    (folder / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    samples = load_manifest(folder / "m.jsonl", datasets.get("cmumosi"))
    assert samples[0].text == "inline words" and samples[0].video == folder / "v.avi"
    assert samples[1].text == "a spoken line\n" and samples[1].video == folder / "frames"
    assert samples[1].gt == "0"


def test_every_problem_at_once(folder: Path) -> None:
    (folder / "bad.csv").write_text(
        "sample_id,gt,image\n"
        "a,happy,img/0.png\n"
        "a,Sad,img/1.png\n"  # duplicate id
        "b,Pain,img/2.png\n"  # unknown label
        "c,Fear,img/nope.png\n"  # missing file
        ",Fear,img/0.png\n"  # empty id
        "d,,\n",  # empty gt and image
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as e:
        load_manifest(folder / "bad.csv", datasets.get("sfew2"))
    probs = e.value.problems
    assert len(probs) == 6
    assert probs[0].startswith("line 3: duplicate sample_id 'a' (first on line 2)")
    assert probs[1].startswith("line 4:") and "'Pain'" in probs[1]
    assert probs[2].startswith("line 5: image not found")
    assert probs[3] == "line 6: empty sample_id"
    assert probs[4:] == ["line 7: empty gt", "line 7: empty image"]
    assert str(e.value).startswith(str(folder / "bad.csv"))
    assert isinstance(e.value, InputError)


def test_missing_columns(folder: Path) -> None:
    (folder / "m.csv").write_text("sample_id,gt,image\na,1.0,img/0.png\n")
    with pytest.raises(ManifestError, match=r"missing column\(s\): video, text \(or text_file\)"):
        load_manifest(folder / "m.csv", datasets.get("cmumosi"))
    # text only needs no video
    (folder / "t.csv").write_text("sample_id,gt,text\na,1.0,words\n")
    got = load_manifest(folder / "t.csv", datasets.get("cmumosi"), "text")
    assert got[0].text == "words"


def test_sentiment_score_must_be_a_number(folder: Path) -> None:
    (folder / "m.csv").write_text("sample_id,gt,video,text\na,positive,v.avi,w\nb,0.4,v.avi,w\n")
    with pytest.raises(ManifestError) as e:
        load_manifest(folder / "m.csv", datasets.get("chsims"))
    assert len(e.value.problems) == 1 and "line 2" in e.value.problems[0]


def test_text_file_and_video_missing(folder: Path) -> None:
    (folder / "m.csv").write_text("sample_id,gt,video,text_file\na,happy,gone.mp4,gone.txt\n")
    with pytest.raises(ManifestError) as e:
        load_manifest(folder / "m.csv", datasets.get("mer_multi"))
    assert [p.split(":")[1].strip() for p in e.value.problems] == [
        "video not found",
        "text_file not found",
    ]


def test_bad_files(folder: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_manifest(folder / "none.csv", datasets.get("sfew2"))
    (folder / "m.xlsx").write_text("x")
    with pytest.raises(InputError, match=r"\.csv or \.jsonl"):
        load_manifest(folder / "m.xlsx", datasets.get("sfew2"))
    (folder / "m.jsonl").write_text(
        '{"sample_id": "a", "gt": "Sad", "image": "img/0.png"}\n{oops\n'
    )
    with pytest.raises(ManifestError, match="line 2: not valid JSON"):
        load_manifest(folder / "m.jsonl", datasets.get("sfew2"))
    (folder / "e.csv").write_text("sample_id,gt,image\n")
    with pytest.raises(ManifestError, match="no samples"):
        load_manifest(folder / "e.csv", datasets.get("sfew2"))
