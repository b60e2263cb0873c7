"""The paper's reference values (package data, read through the protocol registry), the map
from a run's setting to its reference row, the baselines, `score`'s paper columns and
`reproduce` (on the shared released sample where present, and on altered copies of it)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from ger_replay.cli import main
from ger_replay.io import table
from ger_replay.protocol import datasets, reference
from ger_replay.protocol.reference import Kind
from ger_replay.score.reproduce import reproduce
from ger_replay.score.scoring import majority_baseline, random_baseline, score_table


def test_reference_is_package_data_read_once() -> None:
    ref = reference.load()
    assert reference.load() is ref
    assert len(ref.rows) == 230
    kinds = {k: len(ref.select(kind=k)) for k in Kind}
    assert kinds == {Kind.GPT4V: 46, Kind.RANDOM: 23, Kind.MAJORITY: 23, Kind.SUPERVISED: 138}
    assert all(r.dataset in datasets.DATASETS for r in ref.rows)
    assert "Lian" in ref.source


def test_malformed_reference_is_refused() -> None:
    with pytest.raises(reference.ReferenceError, match="row 0"):
        reference.parse({"rows": [{"dataset": "nope", "value": 1}]})
    with pytest.raises(reference.ReferenceError):
        reference.parse([])


@pytest.mark.parametrize(
    ("meta", "value"),
    [
        ({"dataset": "affectnet", "template": "1", "color": "rgb"}, 42.77),
        ({"dataset": "dfew", "frames": 2}, 43.80),
        ({"dataset": "dfew", "frames": 3}, 54.80),
        ({"dataset": "enterface", "frames": 2}, 23.78),
        ({"dataset": "rafdb", "color": "gray"}, 74.28),
        ({"dataset": "rafdb", "color": "rgb"}, 75.81),
        ({"dataset": "sfew2", "template": "2"}, 57.93),
        ({"dataset": "sfew2", "template": "1"}, 57.24),
        ({"dataset": "cmumosi", "modality": "text"}, 82.32),
        ({"dataset": "cmumosi", "modality": "video"}, 51.17),
        ({"dataset": "cmumosi", "modality": "multi"}, 80.43),
        ({"dataset": "mvsa_single", "modality": "image+text"}, 61.25),
        ({"dataset": "twitter1", "run": "twitter1/label-four-gpt4v"}, 94.63),
        ({"dataset": "twitter1", "run": "my-three-run"}, 90.71),
        ({"dataset": "casme", "run": "x"}, 36.93),
    ],
)
def test_a_run_maps_to_its_reference_row(meta: dict[str, object], value: float) -> None:
    row = reference.for_meta(meta)
    assert row is not None and row.value == value and row.kind is Kind.GPT4V


@pytest.mark.parametrize(
    "meta",
    [
        {"dataset": "dfew", "frames": 4},
        {"dataset": "dfew"},
        {"dataset": "casme", "color": "gray"},
        {"dataset": "ckplus", "template": "2"},
        {"dataset": "twitter1", "run": "no-level-named"},
        {"dataset": "nope"},
    ],
)
def test_settings_the_paper_did_not_run_have_no_reference(meta: dict[str, object]) -> None:
    assert reference.for_meta(meta) is None


def test_baselines_and_best_supervised() -> None:
    assert reference.baseline("dfew", Kind.MAJORITY).value == 22.81  # type: ignore[union-attr]
    assert reference.baseline("twitter1", Kind.RANDOM, "t/label-five-gpt4v").value == 50.74  # type: ignore[union-attr]
    assert reference.baseline("twitter1", Kind.RANDOM, "no level") is None
    best = reference.best_supervised("rafdb")
    assert best is not None and (best.model, best.value) == ("POSTER++", 92.21)


def _truth_codes(n_classes: int, counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(n_classes), counts).astype(np.int64)


def test_random_baseline_depends_on_the_test_set_alone() -> None:
    sfew = datasets.get("sfew2")
    t = _truth_codes(7, [10, 3, 0, 5, 7, 1, 4])
    exact = random_baseline(t, 7, sfew)
    assert exact == pytest.approx(100 / 7)  # every class has one candidate of seven
    shuffled = np.random.default_rng(5).permutation(t)
    assert random_baseline(shuffled, 7, sfew) == exact
    # binary by valence: ArtPhoto has 4 positive and 4 negative candidates
    art = datasets.get("artphoto")
    assert random_baseline(np.array([0, 1, 1, 1]), 2, art) == pytest.approx(50.0)
    # WAF (no closed form): seeded from the sorted test set, so order does not move it
    mer = datasets.get("mer_multi")
    w = _truth_codes(6, [30, 20, 10, 5, 5, 2])
    a = random_baseline(w, 6, mer)
    assert a == random_baseline(np.random.default_rng(1).permutation(w), 6, mer)
    assert 5 < a < 30
    assert majority_baseline(w, 6, mer) == pytest.approx(
        # everything predicted as class 0: F1 of class 0 weighted by its share
        (2 * (30 / 72) / (1 + 30 / 72)) * (30 / 72) * 100
    )


def test_baselines_are_the_same_for_every_run_of_a_test_set() -> None:
    def run(name: str, seed: int) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        labels = datasets.get("ckplus").labels
        gt = [labels[i % 7] for i in range(70)]
        ranking = [[labels[int(rng.integers(0, 7))]] for _ in range(70)]
        return table.run_frame(
            {"run": name, "dataset": "ckplus"},
            [f"s{i}" for i in range(70)],
            gt,
            ranking,
            [r[0] for r in ranking],
            [table.OK] * 70,
        )

    rows = score_table(pl.concat([run("a", 1), run("b", 2)])).rows
    assert rows[0]["value"] != rows[1]["value"]
    assert rows[0]["random"] == rows[1]["random"] == pytest.approx(100 / 7)
    assert rows[0]["majority"] == rows[1]["majority"]
    assert rows[0]["paper_random"] == 14.61 and rows[0]["paper_majority"] == 25.38


def test_score_shows_paper_and_delta_in_every_format(tmp_path: Path) -> None:
    df = table.run_frame(
        {"run": "dfew/x", "dataset": "dfew", "frames": 2},
        ["a", "b"],
        ["Sad", "Happy"],
        [["Sad"], ["Sad"]],
        ["Sad", "Sad"],
        [table.OK, table.OK],
    )
    path = tmp_path / "p.parquet"
    df.write_parquet(path)
    runner = CliRunner()
    res = runner.invoke(main, ["score", str(path), "--format", "json"])
    (row,) = json.loads(res.stdout)
    assert (row["value"], row["paper"]) == (50.0, 43.8)
    assert row["delta"] == pytest.approx(50.0 - 43.8)
    assert (row["paper_random"], row["paper_majority"]) == (14.43, 22.81)
    for fmt in ("table", "markdown", "latex"):
        out = runner.invoke(main, ["score", str(path), "--format", fmt]).stdout
        assert "paper" in out and "delta" in out and "43.80" in out and "6.20" in out
    out = runner.invoke(main, ["score", str(path), "--format", "csv"]).stdout
    rec = next(csv.DictReader(out.splitlines()))
    assert float(rec["paper"]) == 43.8 and float(rec["delta"]) == pytest.approx(6.2)


# --- reproduce ------------------------------------------------------------------------------------

EXPECTED = {
    "affectnet/label-gpt4v": 42.77,
    "dfew/label-gpt4v": 43.80,
    "twitter1/label-five-gpt4v": 97.81,
    "twitter1/label-four-gpt4v": 94.63,
    "twitter1/label-three-gpt4v": 90.71,
    "cmumosi/label-gpt4v-multi": 80.43,
    "cmumosi/label-gpt4v-text": 82.32,
    "cmumosi/label-gpt4v-video": 51.17,
}


def test_reproduce_matches_every_covered_number(released_dir: Path) -> None:
    rep = reproduce(released_dir)
    assert rep.errors == [] and rep.uncovered == []
    got = {r["run"]: r for r in rep.table.iter_rows(named=True)}
    assert {k: v["paper"] for k, v in got.items()} == EXPECTED
    assert all(r["match"] for r in got.values()), rep.table
    assert {k: round(v["ours"], 2) for k, v in got.items()} == EXPECTED
    res = CliRunner().invoke(main, ["reproduce", str(released_dir)])
    assert res.exit_code == 0, res.output
    assert "all 8 number(s) match" in res.stderr and "rules: paper:" in res.stdout


def _flip_right_answers(folder: Path, k: int) -> list[str]:
    """Rewrites the first k right, valid answers of AffectNet's run to another candidate."""
    path = folder / "affectnet" / "label-gpt4v.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    labels = datasets.get("affectnet").labels
    changed = []
    for r in rows[1:]:
        first = r[2].split(",")[0].strip()
        if len(changed) < k and first.lower() == r[1].strip().lower():
            other = next(x for x in labels if x.lower() != first.lower())
            r[2] = other
            changed.append(r[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return changed


def test_an_altered_copy_moves_by_exactly_the_altered_samples(
    released_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "results"
    shutil.copytree(released_dir, copy)
    before = {r["run"]: r for r in reproduce(copy).table.iter_rows(named=True)}
    k = 9
    changed = _flip_right_answers(copy, k)
    assert len(changed) == k
    rep = reproduce(copy)
    assert rep.failed == ["affectnet/label-gpt4v"]
    after = {r["run"]: r for r in rep.table.iter_rows(named=True)}
    n = after["affectnet/label-gpt4v"]["n_scored"]
    assert n == before["affectnet/label-gpt4v"]["n_scored"] == 4000
    rows = {r["run"]: r for r in score_table(_import(copy)).rows}
    rows0 = {r["run"]: r for r in score_table(_import(released_dir)).rows}
    assert rows0["affectnet/label-gpt4v"]["value"] - rows["affectnet/label-gpt4v"][
        "value"
    ] == pytest.approx(k / 4000 * 100, abs=1e-9)
    for run in EXPECTED:
        if run != "affectnet/label-gpt4v":
            assert rows[run]["value"] == rows0[run]["value"]
    res = CliRunner().invoke(main, ["reproduce", str(copy)])
    assert res.exit_code == 1
    assert "affectnet/label-gpt4v: ours 42.55, paper 42.77" in res.stderr
    assert "dfew/label-gpt4v:" not in res.stderr


def test_an_invalid_first_label_is_left_out_on_video_under_paper_rules(
    released_dir: Path, tmp_path: Path
) -> None:
    """DFEW (video): a first label made invalid leaves the sample out under the paper's rules;
    AffectNet (image): it stays scored and counts wrong."""
    copy = tmp_path / "results"
    shutil.copytree(released_dir, copy)
    path = copy / "dfew" / "label-gpt4v.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[1][2] = "Pain," + rows[1][2]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    a = {r["run"]: r for r in score_table(_import(released_dir)).rows}["dfew/label-gpt4v"]
    b = {r["run"]: r for r in score_table(_import(copy)).rows}["dfew/label-gpt4v"]
    assert b["n_scored"] == a["n_scored"] - 1
    s = {r["run"]: r for r in score_table(_import(copy), "strict").rows}["dfew/label-gpt4v"]
    assert s["n_scored"] == 2341


def _import(path: Path) -> pl.DataFrame:
    from ger_replay.io.released import import_results

    df, errors = import_results(path)
    assert errors == []
    return df


def test_reproduce_bad_input_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["reproduce", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "nope" in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(main, ["reproduce", str(empty)])
    assert res.exit_code == 2 and "no run files" in res.stderr
    # a run the paper has no number for (a bad label file next to it): exit 2, named
    d = tmp_path / "r" / "casme1"
    d.mkdir(parents=True)
    (d / "label.csv").write_text("name,gt,gpt4v\ne1,tense,\n")
    (d / "label-gpt4v.csv").write_text("name,gt,gpt4v\ne1,tense,tense\n")
    (tmp_path / "r" / "samm").mkdir()
    (tmp_path / "r" / "samm" / "label-gpt4v.csv").write_text("name,gt,gpt4v\nx,Anger,Anger\n")
    res = runner.invoke(main, ["reproduce", str(tmp_path / "r")])
    assert res.exit_code == 2 and "samm" in res.stderr
    assert "casme1/label-gpt4v" in res.stdout and "36.93" in res.stdout


def test_reference_ships_in_the_wheel_and_sdist() -> None:
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parent.parent
    conf = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    paths = [i["path"] for i in conf["tool"]["maturin"]["include"] if "wheel" in i["format"]]
    data = "ger_replay/protocol/data/paper_reference.json"
    assert (root / data).is_file()
    assert any(fnmatch.fnmatch(data, p) for p in paths)


def test_package_copy_is_the_shared_reference(released_dir: Path) -> None:
    shared = released_dir.parent / "paper_reference.json"
    if not shared.is_file():
        pytest.skip("../shared/data/paper_reference.json is absent")
    assert reference.parse(json.loads(shared.read_text(encoding="utf-8"))) == reference.load()


def test_recorded_runs_map_to_their_reference_by_run_json(repo_root: Path) -> None:
    """The shipped demo runs (recorded against the simulator) carry their setting in run.json:
    DFEW with 3 frames, SFEW 2.0 with template 1, MER-MULTI with video and text."""
    from ger_replay.io import load as sources

    loaded = sources.load([repo_root / "cassettes"])
    rows = {r["dataset"]: r for r in score_table(loaded.table).rows}
    assert rows["dfew"]["frames"] == 3 and rows["dfew"]["paper"] == 54.80
    assert rows["sfew2"]["paper"] == 57.24
    assert rows["mer_multi"]["modality"] == "multi" and rows["mer_multi"]["paper"] == 65.39
    for r in rows.values():
        assert r["delta"] == pytest.approx(r["value"] - r["paper"])
