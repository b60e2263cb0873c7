"""`ger-replay manifest`: the test set's manifest from dataset folders laid out as their authors
distribute them (trees built here in those shapes), the test list from a released-predictions
folder (or --labels); missing media and double matches named."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from mediagen import write_image
from recordkit import FAKE_KEY

from ger_replay.cli import main
from ger_replay.io import rundir
from ger_replay.protocol import datasets
from ger_replay.record.manifest import load_manifest
from ger_replay.record.manifest_build import match_key
from ger_replay.record.simulator import serve


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _label_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "gt", "gpt4v"])
        w.writerows([(n, g, "") for n, g in rows])
    return path


def _manifest(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["manifest", *args])
    return res.exit_code, res.output


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _sfew_tree(root: Path, n_val: int = 21, real: bool = False) -> list[tuple[str, str]]:
    """SFEW 2.0 as distributed: Train/<Class>/*.png and Val/<Class>/*.png (the paper's test set
    is Val); the test list names the Val files."""
    labels = datasets.get("sfew2").labels
    tests = []
    for i in range(n_val):
        cls = labels[i % len(labels)]
        name = f"Movie{i:02d}_{1000 + i:09d}_{i:08d}.png"
        path = root / "SFEW_2" / "Val" / cls / name
        if real:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, seed=500 + i, width=48, height=48)
        else:
            _touch(path)
        tests.append((name, cls))
    for i in range(10):  # training files beside them, never in the manifest
        _touch(root / "SFEW_2" / "Train" / labels[i % 7] / f"Train{i:02d}_{i:09d}.png")
    return tests


def test_sfew_val_set_exactly_with_labels_and_no_training_file(tmp_path: Path) -> None:
    tests = _sfew_tree(tmp_path / "media")
    _label_csv(tmp_path / "results" / "sfew2" / "label.csv", tests)
    out = tmp_path / "m" / "sfew2.csv"
    code, text = _manifest(
        "sfew2", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results"),
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, text
    rows = _rows(out)
    assert [(r["sample_id"], r["gt"]) for r in rows] == [(n[:-4], g) for n, g in tests]
    assert all("/Val/" in r["image"] and "Train" not in r["image"] for r in rows)
    samples = load_manifest(out, datasets.get("sfew2"))  # paths relative to the manifest
    assert len(samples) == 21 and all(s.image is not None and s.image.is_file() for s in samples)


def test_missing_media_names_every_sample_and_allow_missing_writes_the_rest(
    tmp_path: Path,
) -> None:
    tests = _sfew_tree(tmp_path / "media", n_val=8)
    tests += [("Gone_1.png", "Sad"), ("Gone_2.png", "Happy")]
    _label_csv(tmp_path / "results" / "sfew2" / "label.csv", tests)
    out = tmp_path / "sfew2.csv"
    args = ["sfew2", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results")]
    code, text = _manifest(*args, "-o", str(out))
    assert code == 2 and "2 of 10 test sample(s) of sfew2 have no media" in text
    assert "Gone_1 (no image)" in text and "Gone_2 (no image)" in text
    assert not out.exists()
    code, text = _manifest(*args, "-o", str(out), "--allow-missing")
    assert code == 0 and "8 sample(s)" in text and "Gone_2 (no image)" in text
    assert len(_rows(out)) == 8


def test_two_files_for_one_sample_names_both(tmp_path: Path) -> None:
    tests = _sfew_tree(tmp_path / "media", n_val=4)
    copy = tmp_path / "media" / "backup" / tests[2][0].replace(".png", ".jpg")
    _touch(copy)
    _label_csv(tmp_path / "results" / "sfew2" / "label.csv", tests)
    code, text = _manifest(
        "sfew2", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results"),
        "-o", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert code == 2 and "matched by 2 files" in text
    assert str(copy) in text and f"Val/{tests[2][1]}/{tests[2][0]}" in text


def test_rafdb_original_beside_aligned_and_train(tmp_path: Path) -> None:
    """RAF-DB basic: Image/original/{test,train}_*.jpg, Image/aligned/*_aligned.jpg and
    EmoLabel/list_patition_label.txt; the released list names the original test files."""
    base = tmp_path / "media" / "basic"
    labels = ["Surprise", "Fear", "Disgust", "Happiness", "Sadness", "Anger", "Neutral"]
    tests = []
    for i in range(1, 8):
        _touch(base / "Image" / "original" / f"test_{i:04d}.jpg")
        _touch(base / "Image" / "aligned" / f"test_{i:04d}_aligned.jpg")
        _touch(base / "Image" / "original" / f"train_{i:05d}.jpg")
        tests.append((f"test_{i:04d}.jpg", labels[i - 1]))
    _touch(base / "EmoLabel" / "list_patition_label.txt", b"test_0001.jpg 1\n")
    _label_csv(tmp_path / "results" / "rafdb" / "label.csv", tests)
    out = tmp_path / "rafdb.csv"
    code, text = _manifest(
        "rafdb", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results"),
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, text
    rows = _rows(out)
    assert [r["sample_id"] for r in rows] == [f"test_{i:04d}" for i in range(1, 8)]
    assert all(r["image"].endswith(f"original/{r['sample_id']}.jpg") for r in rows)


def test_dfew_clips_as_files_or_frame_folders(tmp_path: Path) -> None:
    """DFEW: Clip/original/<n>.mp4 and frame folders Clip/clip_224x224/<00000n>/*.jpg; the
    released list names clips by number without leading zeros."""
    media = tmp_path / "media" / "DFEW"
    tests = []
    for n in range(1, 6):
        _touch(media / "Clip" / "original" / f"{n:05d}.mp4")
        for j in range(3):
            _touch(media / "Clip" / "clip_224x224" / f"{n:05d}" / f"{n:05d}_{j:05d}.jpg")
        tests.append((str(n), ["Sad", "Neutral", "Angry", "Fear", "Happy"][n - 1]))
    _touch(media / "Clip" / "original" / "00099.mp4")  # a training clip
    _label_csv(tmp_path / "results" / "dfew" / "label.csv", tests)
    args = ["dfew", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results")]
    code, text = _manifest(*args, "-o", str(tmp_path / "d.csv"))
    assert code == 2 and "--prefer files|frames" in text and "00003.mp4" in text
    code, text = _manifest(*args, "-o", str(tmp_path / "d.csv"), "--prefer", "frames")
    assert code == 0, text
    rows = _rows(tmp_path / "d.csv")
    assert [r["sample_id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(r["video"].endswith(f"clip_224x224/{int(r['sample_id']):05d}") for r in rows)
    code, text = _manifest(*args, "-o", str(tmp_path / "f.csv"), "--prefer", "files")
    assert code == 0 and all(r["video"].endswith(".mp4") for r in _rows(tmp_path / "f.csv"))


def test_mvsa_texts_beside_images(tmp_path: Path) -> None:
    """MVSA-Single: data/<id>.jpg and data/<id>.txt, labels in labelResultAll.txt."""
    data = tmp_path / "media" / "MVSA_Single" / "data"
    tests = []
    for i in range(1, 6):
        _touch(data / f"{i}.jpg")
        _touch(data / f"{i}.txt", f"tweet number {i} #fun\n".encode())
        tests.append((str(i), ["positive", "neutral", "negative"][i % 3]))
    _touch(data / "99.jpg")
    _touch(data / "99.txt", b"a training tweet")
    _label_csv(tmp_path / "results" / "mvsa_single" / "label.csv", tests)
    out = tmp_path / "mvsa.csv"
    code, text = _manifest(
        "mvsa_single", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results"),
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, text
    rows = _rows(out)
    assert [(r["sample_id"], r["text"]) for r in rows] == [
        (str(i), f"tweet number {i} #fun") for i in range(1, 6)
    ]
    assert len(load_manifest(out, datasets.get("mvsa_single"))) == 5


def test_cmumosi_segments_with_a_transcript_csv(tmp_path: Path) -> None:
    """CMU-MOSI: Raw/Video/Segmented/<video>_<segment>.mp4; transcripts given as a CSV."""
    seg = tmp_path / "media" / "CMU_MOSI" / "Raw" / "Video" / "Segmented"
    tests = [("k5Y_838nuGo_1", "-1.6"), ("k5Y_838nuGo_2", "1.2"), ("abc_3", "0.4")]
    for name, _ in tests:
        _touch(seg / f"{name}.mp4")
    _touch(seg / "train_only_1.mp4")
    _label_csv(tmp_path / "results" / "cmumosi" / "label.csv", tests)
    texts = tmp_path / "transcripts.csv"
    texts.write_text("segment,sentence\nk5Y_838nuGo_1,i did not like it\nabc_3,quite fun\n")
    args = ["cmumosi", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results")]
    args += ["--text", str(texts), "--text-columns", "segment,sentence"]
    code, text = _manifest(*args, "-o", str(tmp_path / "c.csv"))
    assert code == 2 and "k5Y_838nuGo_2 (no text)" in text
    code, text = _manifest(*args, "-o", str(tmp_path / "c.csv"), "--allow-missing")
    assert code == 0, text
    rows = _rows(tmp_path / "c.csv")
    assert [(r["sample_id"], r["gt"], r["text"]) for r in rows] == [
        ("k5Y_838nuGo_1", "-1.6", "i did not like it"),
        ("abc_3", "0.4", "quite fun"),
    ]


def test_twitter1_agreement_lists_and_folder_aliases(tmp_path: Path) -> None:
    imgs = tmp_path / "media" / "twitter_images"
    names = [f"{100 + i}_{i}.jpg" for i in range(6)]
    for n in names:
        _touch(imgs / n)
    rows = [(n, "positive" if i % 2 else "negative") for i, n in enumerate(names)]
    folder = tmp_path / "results" / "twitter1"
    _label_csv(folder / "label_five_agree.csv", rows[:2])
    _label_csv(folder / "label_at_least_four_agree.csv", rows[:4])
    _label_csv(folder / "label_at_least_three_agree.csv", rows)
    args = ["twitter1", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results")]
    assert _manifest(*args, "-o", str(tmp_path / "t3.csv"))[0] == 0
    assert len(_rows(tmp_path / "t3.csv")) == 6
    assert _manifest(*args, "--agree", "five", "-o", str(tmp_path / "t5.csv"))[0] == 0
    assert [r["sample_id"] for r in _rows(tmp_path / "t5.csv")] == [n[:-4] for n in names[:2]]
    # an alias folder name (casme1 holds casme) and the dataset folder given directly
    _touch(tmp_path / "media2" / "sub01" / "EP01_5" / "img46.jpg")
    _label_csv(tmp_path / "results" / "casme1" / "label.csv", [("img46", "tense")])
    for tests in (tmp_path / "results", tmp_path / "results" / "casme1"):
        code, text = _manifest(
            "casme", "--media", str(tmp_path / "media2"), "--tests", str(tests),
            "-o", str(tmp_path / "c.csv"),
        )  # fmt: skip
        assert code == 0, text


def test_labels_file_for_a_dataset_of_ones_own(tmp_path: Path) -> None:
    for i in range(3):
        _touch(tmp_path / "media" / "pics" / f"p{i}.png")
    labels = tmp_path / "mine.csv"
    labels.write_text("name,gt\npics/p0.png,Happy\np1,Sad\np2.png,Angry\n")
    code, text = _manifest(
        "sfew2", "--media", str(tmp_path / "media"), "--labels", str(labels),
        "-o", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert code == 0, text
    assert [r["gt"] for r in _rows(tmp_path / "o.csv")] == ["Happy", "Sad", "Angry"]
    labels.write_text("name,gt\np0,Happy\np1,Bored\n")
    code, text = _manifest(
        "sfew2", "--media", str(tmp_path / "media"), "--labels", str(labels),
        "-o", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert code == 2 and f"{labels}:3" in text and "Bored" in text
    code, text = _manifest("sfew2", "--media", str(tmp_path / "media"), "-o", "x.csv")
    assert code == 2 and "--tests" in text


def test_matching_rule() -> None:
    assert match_key("Val/Angry/x_01.png") == match_key("x_01") == "x_01"
    assert match_key("00042.mp4") == match_key("42") == "42"
    assert match_key("1\\a.JPG") == "a"


def test_manifest_then_a_smoke_run_with_a_parameter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = _sfew_tree(tmp_path / "media", n_val=21, real=True)
    _label_csv(tmp_path / "results" / "sfew2" / "label.csv", tests)
    manifest = tmp_path / "sfew2.csv"
    code, text = _manifest(
        "sfew2", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results"),
        "-o", str(manifest),
    )  # fmt: skip
    assert code == 0, text
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=1, accuracy=1.0) as sim:
        res = CliRunner().invoke(
            main,
            ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out),
             "--base-url", sim.url, "--limit", "14", "--param", "seed=42"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert sim.stats["requests"] == 1  # 14 images, one batch of the paper's 20
    meta = rundir.read_meta(out)
    assert meta["subset"]["n"] == 14 and meta["params"] == {"seed": 42}
    score = CliRunner().invoke(main, ["score", str(out), "--format", "json"])
    row = json.loads(score.output)[0]
    assert row["n_total"] == row["n_scored"] == 14 and row["acc"] == pytest.approx(100.0)


def test_affectnet_from_the_released_list(tmp_path: Path, released_dir: Path) -> None:
    """The released AffectNet list names files with their class sub-folder
    (Manually_Annotated_Images/<n>/<hash>.jpg): the manifest finds every one."""
    with (released_dir / "affectnet" / "label.csv").open(newline="") as f:
        names = [r["name"] for r in csv.DictReader(f)]
    media = tmp_path / "AffectNet" / "Manually_Annotated_Images"
    for n in names:
        _touch(media / n)
    _touch(media / "3" / "training_only.jpg")
    out = tmp_path / "affectnet.csv"
    code, text = _manifest(
        "affectnet", "--media", str(tmp_path / "AffectNet"), "--tests", str(released_dir),
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, text
    assert len(_rows(out)) == len(names) == datasets.get("affectnet").test_samples


def test_double_matches_settled_by_sub_folder_or_training_folder(tmp_path: Path) -> None:
    media = tmp_path / "media"
    # the same file name in Train and Val: the Val one is the test sample
    _touch(media / "SFEW_2" / "Train" / "Sad" / "Same_01.png")
    val = _touch(media / "SFEW_2" / "Val" / "Sad" / "Same_01.png")
    # AffectNet names carry their folder: 1/abc.jpg is not 2/abc.jpg
    one = _touch(media / "imgs" / "1" / "abc.jpg")
    _touch(media / "imgs" / "2" / "abc.jpg")
    _label_csv(
        tmp_path / "results" / "sfew2" / "label.csv",
        [("Same_01.png", "Sad"), ("1/abc.jpg", "Happy")],
    )
    out = tmp_path / "o.csv"
    code, text = _manifest(
        "sfew2", "--media", str(media), "--tests", str(tmp_path / "results"), "-o", str(out),
    )  # fmt: skip
    assert code == 0, text
    got = {r["sample_id"]: (tmp_path / r["image"]).resolve() for r in _rows(out)}
    assert got == {"Same_01": val.resolve(), "abc": one.resolve()}


def test_cmumosi_own_transcripts(tmp_path: Path) -> None:
    """CMU-MOSI as distributed: Raw/Video/Segmented/<video>_<n>.mp4 and
    Raw/Transcript/Segmented/<video>.annotprocessed with lines <n>_DELIMITER_<text>."""
    raw = tmp_path / "media" / "CMU_MOSI" / "Raw"
    for n in (1, 2, 3):
        _touch(raw / "Video" / "Segmented" / f"k5Y_838nuGo_{n}.mp4")
    transcript = raw / "Transcript" / "Segmented" / "k5Y_838nuGo.annotprocessed"
    _touch(transcript, b"1_DELIMITER_I LOVED IT\n2_DELIMITER_not for me\n3_DELIMITER_meh\n")
    tests = [("k5Y_838nuGo_1", "2.2"), ("k5Y_838nuGo_2", "-1.4")]
    _label_csv(tmp_path / "results" / "cmumosi" / "label.csv", tests)
    args = ["cmumosi", "--media", str(tmp_path / "media"), "--tests", str(tmp_path / "results")]
    code, text = _manifest(*args, "-o", str(tmp_path / "m.csv"))
    assert code == 0, text
    rows = _rows(tmp_path / "m.csv")
    assert [(r["sample_id"], r["text"]) for r in rows] == [
        ("k5Y_838nuGo_1", "I LOVED IT"),
        ("k5Y_838nuGo_2", "not for me"),
    ]
    transcript.write_text("1_DELIMITER_fine\nno delimiter here\n")
    code, text = _manifest(*args, "-o", str(tmp_path / "m.csv"))
    assert code == 2 and f"{transcript}:2" in text and "_DELIMITER_" in text
