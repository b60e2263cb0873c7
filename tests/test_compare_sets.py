"""`compare` over sets of runs (Table 9 layout) and its per-class agreement section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ger_replay.cli import main


def _write(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["name,gt,gpt4v"] + [f'{a},{b},"{c}"' for a, b, c in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def rafdb(tmp_path: Path) -> Path:
    labels = ["Happiness", "Sadness", "Anger", "Neutral"] * 5
    truth = [(f"s{i}.jpg", lab, "") for i, lab in enumerate(labels)]
    _write(tmp_path / "rafdb" / "label.csv", truth)
    rgb = [(f"s{i}", lab, lab if i % 4 else "Fear") for i, lab in enumerate(labels)]
    grey = [(f"s{i}", lab, lab if i % 2 else "Fear") for i, lab in enumerate(labels)]
    _write(tmp_path / "rafdb" / "label-gpt4v-rgb.csv", rgb)
    _write(tmp_path / "rafdb" / "label-gpt4v-grey.csv", grey)
    _write(tmp_path / "sfew2" / "label.csv", truth[:4])
    _write(tmp_path / "sfew2" / "label-gpt4v.csv", [("s0", "Happy", "Happy")])
    return tmp_path


def test_sets_of_runs_compare_each_level_with_the_reference(rafdb: Path) -> None:
    res = CliRunner().invoke(main, ["compare", str(rafdb), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    rows = data["Sets of runs differing in one setting"]
    by_level = {r["level"]: r for r in rows}
    assert set(by_level) == {"rgb", "gray"}
    assert by_level["rgb"]["value"] == pytest.approx(75.0)
    assert by_level["gray"]["value"] == pytest.approx(50.0)
    ref = next(r for r in rows if r["delta"] is None)
    other = next(r for r in rows if r["delta"] is not None)
    assert other["delta"] == pytest.approx(other["value"] - ref["value"])
    assert other["delta_low"] <= other["delta"] <= other["delta_high"]
    wide = data["color (Table 9 layout)"]
    assert {r["level"] for r in wide} == {"rgb", "gray"}


def test_named_pair_shows_per_class_agreement(rafdb: Path) -> None:
    args = [
        "compare",
        str(rafdb),
        "--run-a",
        "rafdb/label-gpt4v-rgb",
        "--run-b",
        "rafdb/label-gpt4v-grey",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "per class agreement" in res.stdout
    js = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    agree = js["per_class_agreement"]
    # rgb and grey give the same label on the samples where i % 4 != 0 and i % 2 != 0 both
    # hold, or both are Fear (i % 4 == 0): 15 of 20 samples
    assert agree["all"] == pytest.approx(75.0)


def test_no_set_is_a_clear_error(tmp_path: Path) -> None:
    _write(tmp_path / "sfew2" / "label.csv", [("a", "Happy", ""), ("b", "Sad", "")])
    for name in ("label-gpt4v.csv", "label-gpt4v-x.csv", "label-gpt4v-y.csv"):
        _write(tmp_path / "sfew2" / name, [("a", "Happy", "Happy")])
    res = CliRunner().invoke(main, ["compare", str(tmp_path)])
    assert res.exit_code == 2
    assert "no two runs differ in one setting only" in res.stderr
