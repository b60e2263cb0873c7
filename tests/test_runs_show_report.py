"""Looking at runs as a user does: `runs`, `show`, stability over runs of two models, partial runs,
`diff` of two runs of one dataset, a report rewritten into its folder with its per-run pages, a
replay that names the sample whose media changed, and the README's Python example."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from recordkit import record_run

from ger_replay.cli import main


def copy_run(src: Path, dst: Path, **meta: object) -> Path:
    """A copy of a run folder with run.json fields changed (name, model, repeat, ...)."""
    shutil.copytree(src, dst)
    p = dst / "run.json"
    data = json.loads(p.read_text())
    data.update(meta)
    p.write_text(json.dumps(data, indent=1))
    return dst


def partial(src: Path, dst: Path, **meta: object) -> Path:
    """A copy that lost its second batch: half its samples unanswered."""
    copy_run(src, dst, **meta)
    (dst / "cassettes" / "b00001.json").unlink()
    return dst


@pytest.fixture
def sfew(repo_root: Path) -> Path:
    return repo_root / "cassettes" / "sfew2-demo"


def invoke(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_runs_lists_each_run_with_progress_and_flags(tmp_path: Path, sfew: Path) -> None:
    partial(sfew, tmp_path / "p", name="sfew2-half")
    res = invoke("runs", sfew, tmp_path / "p")
    assert res.exit_code == 0, res.output
    lines = {ln.split()[0]: ln for ln in res.stdout.splitlines()[2:] if ln.strip()}
    assert "2 of 2" in lines["sfew2-demo"] and "40 of 40 (100%)" in lines["sfew2-demo"]
    assert "simulator" in lines["sfew2-demo"] and "SYNTHETIC" in lines["sfew2-demo"]
    assert "20 of 40 (50%)" in lines["sfew2-half"] and "partial" in lines["sfew2-half"]
    assert "partial" not in lines["sfew2-demo"]
    data = json.loads(invoke("runs", sfew, "--format", "json").stdout)["runs"]
    assert data[0]["tokens"] > 0 and data[0]["scored"] == 40


def test_show_lists_samples_and_one_sample_in_full(sfew: Path) -> None:
    listing = invoke("show", sfew)
    assert listing.exit_code == 0
    assert len([ln for ln in listing.stdout.splitlines() if ln.startswith("sfew2_")]) == 40
    one = invoke("show", sfew, "sfew2_005")
    assert one.exit_code == 0, one.output
    out = one.stdout
    assert "ground truth: Sad" in out and "status:       ok" in out
    assert "SYNTHETIC" in out
    assert "facial expression classification expert" in out  # the prompt
    assert re.search(r"image: sha256:[0-9a-f]{64}", out)  # digests, never image bytes
    assert "item 3 of 20" in out and "I'm sorry" in out and "'result'" in out  # raw answers
    data = json.loads(invoke("show", sfew, "sfew2_005", "--format", "json").stdout)
    assert data["gt"] == "Sad" and len(data["calls"]) == 3
    assert [p["kind"] for p in data["calls"][0]["parts"]] == ["image"]
    rows = dict(
        line.split(",", 1)
        for line in invoke("show", sfew, "sfew2_005", "--format", "csv").stdout.splitlines()
    )
    assert rows["ground truth"] == "Sad" and rows["call 3 images"].startswith("sha256:")
    many = invoke("show", sfew.parent)
    assert many.exit_code == 2 and "holds 3 runs" in many.stderr
    bad = invoke("show", sfew, "nope")
    assert bad.exit_code == 2 and "sfew2_029" in bad.stderr


def test_show_with_the_media_checks_digests_and_writes_thumbnails(tmp_path: Path) -> None:
    run_dir, manifest, _ = record_run(tmp_path, n=6, batch_size=3)
    res = invoke("show", run_dir, "s0001", "--media", manifest, "--thumbs", tmp_path / "t")
    assert res.exit_code == 0, res.output
    assert "digests: match the recorded request" in res.stdout
    assert "media/s0001.png" in res.stdout
    thumbs = sorted((tmp_path / "t").glob("*.jpg"))
    assert [t.name for t in thumbs] == ["s0001_1.jpg"] and thumbs[0].stat().st_size > 0


def test_replay_names_the_sample_whose_image_changed(tmp_path: Path) -> None:
    from mediagen import write_image

    run_dir, manifest, _ = record_run(tmp_path, n=6, batch_size=3)
    assert invoke("replay", run_dir, "--manifest", manifest).exit_code == 0
    write_image(tmp_path / "media" / "s0004.png", seed=99, width=48, height=48)
    res = invoke("replay", run_dir, "--manifest", manifest)
    assert res.exit_code == 1
    assert "media of sample(s) s0004 changed" in res.stderr
    shown = invoke("show", run_dir, "s0004", "--media", manifest)
    assert "DIFFER from the recording" in shown.stdout


def test_stability_groups_by_setting_or_names_the_differences(tmp_path: Path, sfew: Path) -> None:
    a = copy_run(sfew, tmp_path / "a", name="m1-r0", model="model-one", repeat=0)
    b = copy_run(sfew, tmp_path / "b", name="m2-r0", model="model-two", repeat=0)
    refused = invoke("stability", a, b)
    assert refused.exit_code == 2
    assert "model: m1-r0 model-one, m2-r0 model-two" in refused.stderr
    c = copy_run(sfew, tmp_path / "c", name="m1-r1", model="model-one", repeat=1)
    d = copy_run(sfew, tmp_path / "d", name="m2-r1", model="model-two", repeat=1)
    g = copy_run(sfew, tmp_path / "g", name="m1-gray", model="model-one", color="gray")
    h = partial(sfew, tmp_path / "h", name="m1-half", model="model-one", repeat=2)
    res = invoke("stability", a, b, c, d, g, h, "--no-ci", "--format", "json")
    assert res.exit_code == 0, res.output
    titles = [k for k in json.loads(res.stdout) if k.endswith("summary")]
    assert len(titles) == 2
    assert any("model-one" in t and "2 runs" in t for t in titles)
    assert any("model-two" in t and "2 runs" in t for t in titles)
    assert "left out: m1-gray has no repeat" in res.stderr
    assert "left out: m1-half is partial (50%" in res.stderr


def test_diff_of_two_runs_of_one_dataset_matches_by_sample_id(tmp_path: Path, sfew: Path) -> None:
    a = copy_run(sfew, tmp_path / "a", name="first")
    b = copy_run(sfew, tmp_path / "b", name="second")
    same = invoke("diff", a, b)
    assert same.exit_code == 0, same.output
    assert "only in" not in same.stdout and "0 sample(s) changed" in same.stderr
    half = partial(sfew, tmp_path / "h", name="third")
    moved = invoke("diff", a, half, "--format", "json", "--limit", "100")
    assert moved.exit_code == 1
    samples = json.loads(moved.stdout)["samples changed (20)"]
    assert {s["change"] for s in samples} == {"status"}
    assert {s["status_b"] for s in samples} == {"unanswered"}


def test_report_rewrite_leaves_only_the_new_report(tmp_path: Path, repo_root: Path) -> None:
    demo = repo_root / "cassettes"
    out = tmp_path / "rep"
    assert invoke("report", demo, "-o", out, "--no-ci").exit_code == 0
    (out / "tables" / "stale.csv").write_text("from an earlier report\n")
    half = partial(demo / "sfew2-demo", tmp_path / "h", name="sfew2-half", repeat=1)
    res = invoke("report", demo / "sfew2-demo", half, "-o", out, "--no-ci")
    assert res.exit_code == 0, res.output
    assert not (out / "tables" / "stale.csv").exists()
    assert not (out / "runs" / "dfew_demo.html").exists()  # only the new report's runs
    page = (out / "index.html").read_text()
    assert "SYNTHETIC" in page
    table = (out / "tables" / "table_facial_emotion.md").read_text()
    assert "(synthetic)" in table and "(synthetic, partial)" in table
    assert "1 of 1 whole run(s) beat both" in page and "1 partial run(s) left out" in page
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".rep")] == []
    run_page = (out / "runs" / "sfew2_half.html").read_text()
    assert "<script" not in run_page and "Partial run" in run_page
    row = re.search(r"<tr id='s-sfew2_005'>(.*?)</tr>", run_page)
    assert row and "<td>Sad</td>" in row[1] and 'href="#call-3"' in row[1]
    assert "id='call-3'" in run_page
    assert 'href="../index.html"' in run_page and "runs/sfew2_half.html" in page


def test_report_crash_leaves_the_old_report(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ger_replay.report import figures

    demo = repo_root / "cassettes" / "sfew2-demo"
    out = tmp_path / "rep"
    assert invoke("report", demo, "-o", out, "--no-ci").exit_code == 0
    before = (out / "index.html").read_bytes()

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(figures, "confusion_figure", boom)
    res = invoke("report", demo, "-o", out, "--no-ci")
    assert res.exit_code != 0
    assert (out / "index.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_report_refuses_a_folder_it_did_not_write(tmp_path: Path, repo_root: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    res = invoke("report", repo_root / "cassettes" / "sfew2-demo", "-o", mine, "--no-ci")
    assert res.exit_code == 2 and "not a folder this tool wrote" in res.stderr
    assert (mine / "thesis.tex").read_text() == "precious"


def test_the_readme_python_example_runs(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (repo_root / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has a Python example"
    monkeypatch.chdir(repo_root)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_partial_runs_are_not_plotted(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ger_replay.report import figures, overview

    seen: dict[str, list[str]] = {}
    real_scores, real_overview = figures.scores_figure, overview.overview_figure

    def scores_figure(scores, *a, **k):  # type: ignore[no-untyped-def]
        seen["scores"] = scores.get_column("run").to_list()
        return real_scores(scores, *a, **k)

    def overview_figure(scores, *a, **k):  # type: ignore[no-untyped-def]
        seen["overview"] = scores.get_column("run").to_list()
        return real_overview(scores, *a, **k)

    monkeypatch.setattr(figures, "scores_figure", scores_figure)
    monkeypatch.setattr(overview, "overview_figure", overview_figure)
    demo = repo_root / "cassettes" / "sfew2-demo"
    half = partial(demo, tmp_path / "h", name="sfew2-half", repeat=1)
    res = invoke("report", demo, half, "-o", tmp_path / "rep", "--no-ci")
    assert res.exit_code == 0, res.output
    assert seen == {"scores": ["sfew2-demo"], "overview": ["sfew2-demo"]}
    csv = (tmp_path / "rep" / "tables" / "scores.csv").read_text()
    assert "sfew2-half" in csv  # kept in the data, flagged


def test_report_replaces_a_report_of_an_earlier_version(tmp_path: Path, repo_root: Path) -> None:
    old = tmp_path / "rep"
    (old / "tables").mkdir(parents=True)
    (old / "tables" / "stale.md").write_text("old\n")
    (old / "index.html").write_text("<html>old</html>")
    res = invoke("report", repo_root / "cassettes" / "sfew2-demo", "-o", old, "--no-ci")
    assert res.exit_code == 0, res.output
    assert not (old / "tables" / "stale.md").exists() and (old / ".ger-replay-report").is_file()


def test_runs_shows_the_cost_of_a_priced_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recordkit import FAKE_KEY, image_manifest

    from ger_replay.protocol import datasets
    from ger_replay.record.simulator import serve

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 4)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=1) as sim:
        res = invoke(
            "record", "--dataset", "sfew2", "--manifest", manifest, "-o", out,
            "--base-url", sim.url, "--model", "m", "--price", "2,8", "--no-preflight",
        )  # fmt: skip
        assert res.exit_code == 0, res.output
    data = json.loads(invoke("runs", out, "--format", "json").stdout)["runs"][0]
    assert data["cost"].startswith("$") and data["tokens"] > 0
    assert data["batches"] == "1 of 1"
