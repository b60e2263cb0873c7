"""`record --plan FILE`: a sweep of datasets x models x factors, one readable run folder per
cell, a dry run of the whole plan, failing cells that do not stop the others, and resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from mediagen import write_frame_folder
from recordkit import FAKE_KEY, image_manifest

from ger_replay.cli import main
from ger_replay.io import rundir
from ger_replay.protocol import datasets
from ger_replay.record.simulator import serve


def _video_manifest(folder: Path, n: int) -> Path:
    labels = datasets.get("dfew").labels
    path = folder / "dfew.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample_id", "gt", "video"])
        for i in range(n):
            write_frame_folder(folder / "clips" / f"c{i}", 4 + i, width=32, height=24)
            w.writerow([f"c{i}", labels[i], f"clips/c{i}"])
    return path


PLAN = """
out = "sweep"
seed = 0

[[datasets]]
key = "sfew2"
manifest = "manifest.csv"

[[datasets]]
key = "dfew"
manifest = "dfew.csv"

[[models]]
model = "m1"
base_url = "{url}"
params = {{ seed = 1 }}
price = [1.0, 2.0]

[[models]]
model = "org/second-model"
base_url = "{url}"
key_env = "GER_TEST_SECOND_KEY"

[factors]
templates = ["1", "3"]
frames = [2, 3]
repeats = 2
"""


def test_sweep_dry_run_record_failures_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("GER_TEST_SECOND_KEY", raising=False)
    manifest = image_manifest(tmp_path, 6)
    _video_manifest(tmp_path, 3)
    plan = tmp_path / "plan.toml"
    with serve(manifest, datasets.get("sfew2"), seed=9) as sim:
        plan.write_text(PLAN.format(url=sim.url))
        dry = CliRunner().invoke(main, ["record", "--plan", str(plan), "--dry-run"])
        assert dry.exit_code == 0, dry.output
        # sfew2: 2 models x 2 templates x 2 repeats; dfew (template 1 only) x 2 frame counts
        assert "16 cell(s): 16-" in dry.output
        assert "sfew2-m1-t3-rgb-r0" in dry.output
        assert "dfew-org_second-model-t1-rgb-f2-r1" in dry.output
        assert "dfew-m1-t3" not in dry.output
        assert "(+ 8 cell(s) without a price)" in dry.output
        assert not (tmp_path / "sweep").exists()
        first = CliRunner().invoke(main, ["record", "--plan", str(plan)])
        # the second model's key is missing: its cells fail, the others are recorded
        assert first.exit_code == 2
        assert "16 cell(s): 8 complete, 0 incomplete, 8 failed" in first.output
        assert "GER_TEST_SECOND_KEY" in first.output
        assert sim.stats["requests"] == 8  # one batch a cell
        monkeypatch.setenv("GER_TEST_SECOND_KEY", "another-key")
        second = CliRunner().invoke(main, ["record", "--plan", str(plan)])
        assert second.exit_code == 0, second.output
        assert "16 cell(s): 16 complete" in second.output
        assert sim.stats["requests"] == 16  # the finished cells asked nothing again
        third = CliRunner().invoke(main, ["record", "--plan", str(plan)])
        assert third.exit_code == 0 and sim.stats["requests"] == 16
    cells = sorted(p.name for p in (tmp_path / "sweep").iterdir())
    assert len(cells) == 16 and all(rundir.is_run_dir(tmp_path / "sweep" / c) for c in cells)
    meta = rundir.read_meta(tmp_path / "sweep" / "dfew-m1-t1-rgb-f2-r1")
    assert (meta["dataset"], meta["model"], meta["template"]) == ("dfew", "m1", "1")
    assert (meta["frames"], meta["repeat"], meta["params"]) == (2, 1, {"seed": 1})
    assert meta["price"]["source"] == "--price"
    other = rundir.read_meta(tmp_path / "sweep" / "sfew2-org_second-model-t3-rgb-r0")
    assert other["model"] == "org/second-model" and other["params"] == {}
    assert other["template"] == "3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('out = "x"\n[[models]]\nmodel = "m"\n', "at least one [[datasets]]"),
        (
            '[[datasets]]\nkey = "sfew2"\nmanifest = "m.csv"\n[[models]]\nmodel = "m"\n'
            "temprature = 1\n",
            "[[models]] #1: unknown key(s) temprature",
        ),
        (
            '[[datasets]]\nkey = "nope"\nmanifest = "m.csv"\n[[models]]\nmodel = "m"\n',
            "unknown dataset 'nope'",
        ),
        ("[[datasets]\n", "not valid TOML"),
        (
            '[[datasets]]\nkey = "sfew2"\nmanifest = "m.csv"\n[[models]]\nmodel = "m"\n'
            '[factors]\ncolors = ["blue"]\n',
            "'blue' is not rgb or gray",
        ),
    ],
)
def test_bad_plans_are_named(tmp_path: Path, text: str, message: str) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(text)
    res = CliRunner().invoke(main, ["record", "--plan", str(plan), "--dry-run"])
    assert res.exit_code == 2 and str(plan) in res.output and message in res.output


def test_record_without_a_plan_needs_its_three_options(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["record", "--dataset", "sfew2"])
    assert res.exit_code == 2 and "--manifest, -o/--output" in res.output


def test_factors_apply_where_they_mean_something(tmp_path: Path) -> None:
    from ger_replay.record import sweep

    plan = tmp_path / "p.toml"
    plan.write_text(
        'out = "o"\nlimit = 14\n'
        '[[datasets]]\nkey = "cmumosi"\nmanifest = "mosi.csv"\n'
        '[[datasets]]\nkey = "rafdb"\nmanifest = "raf.csv"\n'
        '[[models]]\nmodel = "gpt-4o"\n[[models]]\nmodel = "o4-mini"\nmax_tokens = 5000\n'
        '[factors]\nmodalities = ["video", "text", "multi"]\nframes = [2, 3]\n'
        'colors = ["rgb", "gray"]\nrepeats = [4]\n'
    )
    cells = {c.name: c for c in sweep.cells(plan, progress=False)}
    # cmumosi: 2 models x (video and multi: 2 colours x 2 frame counts; text alone: 1);
    # rafdb: 2 models x 2 colours
    assert len(cells) == 2 * (4 + 4 + 1) + 2 * 2
    assert "cmumosi-gpt-4o-t1-gray-f2-video-r4" in cells
    assert "cmumosi-gpt-4o-t1-text-r4" in cells and "cmumosi-gpt-4o-t1-rgb-f3-multi-r4" in cells
    assert "rafdb-o4-mini-t1-gray-r4" in cells
    o = cells["rafdb-o4-mini-t1-gray-r4"].options
    assert o.limit == 14 and o.repeat == 4 and o.out == tmp_path / "o" / "rafdb-o4-mini-t1-gray-r4"
    assert o.settings.temperature is None and o.settings.max_tokens == 5000
    assert cells["rafdb-gpt-4o-t1-rgb-r4"].options.settings.temperature == 0.0


def test_plan_with_run_options_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "p.toml"
    plan.write_text('[[datasets]]\nkey = "sfew2"\nmanifest = "m.csv"\n[[models]]\nmodel = "m"\n')
    res = CliRunner().invoke(
        main, ["record", "--plan", str(plan), "--model", "x", "--limit", "3", "--dry-run"]
    )
    assert res.exit_code == 2 and "--model, --limit belong in it" in res.output
