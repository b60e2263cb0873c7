"""`import gpt4v-emotion` and `score`: PROTOCOL.md parts 3 and 4, formats, --expect, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from sklearn.metrics import accuracy_score, f1_score

from ger_replay.cli import main
from ger_replay.io import load as sources
from ger_replay.io.released import import_results, sample_key
from ger_replay.score.scoring import score_table


def write(path: Path, rows: list[tuple[str, str, str]], header: str = "name,gt,gpt4v") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        f.write(header + "\n")
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A small results folder in the released layout, with every rule of part 3 exercised."""
    root = tmp_path / "results"
    # sfew2: extension and sub-folder in label.csv, synonyms, an invented label, one missing.
    write(
        root / "sfew2" / "label.csv",
        [
            ("Angry/a1.jpg", "Angry", ""),
            ("Happy/h1.png", "Happy", ""),
            ("Sad/s1.jpg", "Sad", ""),
            ("Sad/s2.jpg", "sadness", ""),
        ],
    )
    write(
        root / "sfew2" / "label-gpt4v.csv",
        [
            ("a1", "Angry", "anger,Sad"),
            ("h1", "Happy", "Pain,happiness,Sad"),
            ("s1", "Sad", "Happy,Sad"),
        ],
    )
    # abstract: valence map on truth and prediction.
    write(
        root / "abstract" / "label.csv",
        [("x1.jpg", "Amusement", ""), ("x2.jpg", "Fear", ""), ("x3.jpg", "Content", "")],
    )
    write(
        root / "abstract" / "label-gpt4v.csv",
        [
            ("x1.jpg", "Amusement", "Awe,Fear"),
            ("x2.jpg", "Fear", "Sad,Awe"),
            ("x3.jpg", "Content", "Anger,Content"),
        ],
    )
    # cmumosi: sentiment scores, 0 left out, top neutral counts as negative.
    write(
        root / "cmumosi" / "label.csv",
        [
            ("v1", "1.2", ""),
            ("v2", "-0.4", ""),
            ("v3", "0", ""),
            ("v4", "2.0", ""),
            ("v5", "-1.0", ""),
        ],
    )
    write(
        root / "cmumosi" / "label-gpt4v-multi.csv",
        [
            ("v1", "1.2", "weakly positive,positive"),
            ("v2", "-0.4", "neutral,negative"),
            ("v3", "0", "positive"),
            ("v4", "2.0", "neutral,positive"),
            ("v5", "-1.0", "negative"),
        ],
    )
    # twitter1: agreement subsets; casme1 folder alias.
    write(root / "twitter1" / "label_five_agree.csv", [("t1.jpg", "positive", "")])
    write(
        root / "twitter1" / "label_at_least_four_agree.csv",
        [("t1.jpg", "positive", ""), ("t2.jpg", "negative", "")],
    )
    write(root / "twitter1" / "label-five-gpt4v.csv", [("t1.jpg", "positive", "negative,positive")])
    write(
        root / "twitter1" / "label-four-gpt4v.csv",
        [("t1.jpg", "positive", "positive,negative"), ("t2.jpg", "negative", "negative")],
    )
    write(root / "casme1" / "label.csv", [("sub01/e1", "tense", ""), ("sub02/e2", "surprise", "")])
    write(
        root / "casme1" / "label-gpt4v.csv", [("e1", "tense", "tense"), ("e2", "surprise", "Fear")]
    )
    return root


def by_run(rows: list[dict]) -> dict[str, dict]:
    return {r["run"]: r for r in rows}


def test_sample_key_matches_names_across_extension_and_folder() -> None:
    assert sample_key("10/77e3.JPG") == sample_key("77e3.jpg") == "77e3"
    assert sample_key("tStelxIAHjw_16") == "tStelxIAHjw_16"
    assert sample_key("sub\\clip.mp4") == "clip"


def test_import_builds_the_predictions_table(results: Path) -> None:
    df, errors = import_results(results)
    assert errors == []
    assert sorted(df.get_column("run").unique()) == [
        "abstract/label-gpt4v",
        "casme1/label-gpt4v",
        "cmumosi/label-gpt4v-multi",
        "sfew2/label-gpt4v",
        "twitter1/label-five-gpt4v",
        "twitter1/label-four-gpt4v",
    ]
    sfew = df.filter(pl.col("run") == "sfew2/label-gpt4v").sort("sample_id")
    assert sfew.get_column("sample_id").to_list() == ["a1", "h1", "s1", "s2"]
    assert sfew.get_column("status").to_list() == ["ok", "ok", "ok", "unanswered"]
    assert sfew.get_column("pred").to_list() == ["Angry", "Happy", "Happy", None]
    assert sfew.get_column("invented").to_list()[1] == ["Pain"]
    assert sfew.get_column("ranking").to_list()[1] == ["Pain", "happiness", "Sad"]
    casme = df.filter(pl.col("run") == "casme1/label-gpt4v").sort("sample_id")
    assert casme.get_column("dataset").unique().to_list() == ["casme"]
    assert casme.get_column("status").to_list() == ["ok", "no_candidate"]
    multi = df.filter(pl.col("run") == "cmumosi/label-gpt4v-multi")
    assert multi.get_column("modality").unique().to_list() == ["multi"]


def test_scoring_rules_of_part_three(results: Path) -> None:
    df, _ = import_results(results)
    rows = by_run(score_table(df).rows)
    assert {r["rules"] for r in rows.values()} == {"paper"}
    sfew = rows["sfew2/label-gpt4v"]
    # paper rules: a1 right; h1's first label Pain is invalid: wrong on an image task;
    # s1 wrong; s2 unanswered and left out
    assert sfew["value"] == pytest.approx(100 / 3)
    assert (sfew["n_scored"], sfew["n_total"]) == (3, 4)
    assert sfew["per_class"]["Sad"] == 0.0
    assert sfew["per_class"]["Fear"] is None
    # abstract: x1 pos->pos right, x2 neg->neg (Sad) right, x3 pos->neg wrong
    assert rows["abstract/label-gpt4v"]["value"] == pytest.approx(200 / 3)
    # cmumosi: v3 (score 0) left out; predictions pos, neg, neg(neutral top), neg
    mosi = rows["cmumosi/label-gpt4v-multi"]
    truth, pred = ["p", "n", "p", "n"], ["p", "n", "n", "n"]
    assert mosi["value"] == pytest.approx(f1_score(truth, pred, average="weighted") * 100)
    assert mosi["n_total"] == 4
    assert rows["twitter1/label-five-gpt4v"]["value"] == 0.0
    assert rows["twitter1/label-four-gpt4v"]["n_total"] == 2
    assert rows["twitter1/label-four-gpt4v"]["value"] == 100.0
    # casme: e2 answered only with a label outside the candidates: scored, wrong
    assert rows["casme1/label-gpt4v"]["n_scored"] == 2
    assert rows["casme1/label-gpt4v"]["value"] == 50.0


def test_lenient_takes_the_first_candidate(results: Path) -> None:
    df, _ = import_results(results)
    rows = by_run(score_table(df, "lenient").rows)
    sfew = rows["sfew2/label-gpt4v"]
    # a1 right, h1 right after skipping Pain, s1 wrong, s2 unanswered and left out
    assert sfew["value"] == pytest.approx(200 / 3)
    assert (sfew["n_scored"], sfew["n_total"], sfew["rules"]) == (3, 4, "lenient")
    # casme: e2 has no candidate at all: left out
    assert rows["casme1/label-gpt4v"]["n_scored"] == 1
    assert rows["casme1/label-gpt4v"]["value"] == 100.0


def test_strict_counts_everything_unusable_against_the_run(results: Path) -> None:
    df, _ = import_results(results)
    rows = by_run(score_table(df, "strict").rows)
    # a1 right; h1 (Pain first), s1 and the unanswered s2 wrong
    assert rows["sfew2/label-gpt4v"]["value"] == pytest.approx(25.0)
    assert rows["sfew2/label-gpt4v"]["n_scored"] == 4


def test_baselines_on_the_full_test_set(results: Path) -> None:
    df, _ = import_results(results)
    rows = by_run(score_table(df).rows)
    # majority of (Angry, Happy, Sad, Sad) is Sad: 2 of 4
    assert rows["sfew2/label-gpt4v"]["majority"] == 50.0
    assert 0 <= rows["sfew2/label-gpt4v"]["random"] <= 100


def test_cli_import_then_score_every_format(results: Path, tmp_path: Path) -> None:
    r = CliRunner()
    for ext in ("parquet", "csv"):
        out = tmp_path / f"p.{ext}"
        res = r.invoke(main, ["import", "gpt4v-emotion", str(results), "-o", str(out)])
        assert res.exit_code == 0, res.output
        js = r.invoke(main, ["score", str(out), "--format", "json"])
        assert js.exit_code == 0, js.output
        data = json.loads(js.stdout)
        assert {d["run"] for d in data} >= {"sfew2/label-gpt4v", "abstract/label-gpt4v"}
        for d in data:
            for key in (
                "run",
                "dataset",
                "metric",
                "value",
                "n_scored",
                "n_total",
                "majority",
                "random",
                "per_class",
            ):
                assert key in d
    direct = json.loads(r.invoke(main, ["score", str(results), "--format", "json"]).stdout)
    via_file = json.loads(
        r.invoke(main, ["score", str(tmp_path / "p.csv"), "--format", "json"]).stdout
    )
    assert [d["value"] for d in direct] == [d["value"] for d in via_file]
    for fmt, marker in (
        ("table", "sfew2/label-gpt4v"),
        ("markdown", "| run |"),
        ("csv", "run,dataset,task,model,template"),
        ("latex", "\\begin{tabular}"),
    ):
        res = r.invoke(main, ["score", str(results), "--format", fmt])
        assert res.exit_code == 0
        assert marker in res.stdout


def test_expect_names_every_moved_run(results: Path, tmp_path: Path) -> None:
    r = CliRunner()
    exp = tmp_path / "expected.json"
    r.invoke(main, ["score", str(results), "--format", "json", "-o", str(exp)])
    assert r.invoke(main, ["score", str(results), "--expect", str(exp)]).exit_code == 0
    data = json.loads(exp.read_text())
    data[0]["value"] += 0.5
    data[1]["value"] -= 0.01
    exp.write_text(json.dumps(data))
    res = r.invoke(main, ["score", str(results), "--expect", str(exp)])
    assert res.exit_code == 1
    assert data[0]["run"] in res.stderr and data[1]["run"] in res.stderr
    assert "2 run(s) moved" in res.stderr


def test_bad_inputs_are_named_and_the_rest_still_scored(results: Path, tmp_path: Path) -> None:
    write(results / "sfew2" / "label-gpt4v-bad.csv", [("a1", "Angry", "x")], header="id,label,pred")
    write(results / "rafdb" / "label.csv", [("r1", "Joy", "")])
    write(results / "rafdb" / "label-gpt4v.csv", [("r1", "Joy", "Happiness")])
    write(results / "mystery" / "label.csv", [("m", "a", "")])
    write(results / "mystery" / "label-gpt4v.csv", [("m", "a", "a")])
    (results / "ckplus").mkdir()
    (results / "ckplus" / "label.csv").write_text("")
    write(results / "ckplus" / "label-gpt4v.csv", [("c", "anger", "anger")])
    r = CliRunner()
    res = r.invoke(main, ["score", str(results), str(tmp_path / "nowhere.parquet")])
    assert res.exit_code == 2
    err = res.stderr
    assert "label-gpt4v-bad.csv:1: expected the columns name,gt,gpt4v, found id,label,pred" in err
    assert "rafdb/label.csv:2: ground truth label 'Joy' is neither a candidate" in err
    assert "unknown dataset folder" in err and "mystery" in err
    assert "ckplus/label.csv: the file is empty" in err
    assert "nowhere.parquet: no such file or folder" in err
    assert "sfew2/label-gpt4v" in res.stdout and "abstract/label-gpt4v" in res.stdout


def test_stray_and_duplicate_samples_name_the_line(results: Path) -> None:
    write(results / "sfew2" / "label-gpt4v.csv", [("a1", "Angry", "Angry"), ("zz", "Sad", "Sad")])
    _, errors = import_results(results)
    assert any("label-gpt4v.csv:3: sample 'zz' is not in the test set" in str(e) for e in errors)
    write(
        results / "sfew2" / "label-gpt4v.csv",
        [("a1", "Angry", "Angry"), ("a1.jpg", "Angry", "Sad")],
    )
    _, errors = import_results(results)
    assert any("label-gpt4v.csv:3:" in str(e) and "appears twice" in str(e) for e in errors)


def test_not_a_predictions_table(tmp_path: Path) -> None:
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    res = CliRunner().invoke(main, ["score", str(bad)])
    assert res.exit_code == 2
    assert "other.csv: not a predictions table: missing column(s)" in res.stderr


# --- the real released predictions (third-party, read in place) ----------------------------------


def independent_score(results_dir: Path, folder: str, run_file: str, test_file: str) -> float:
    """The paper's rules written again in plain Python and scikit-learn, as a cross-check."""
    from ger_replay.protocol import datasets

    syn = dict(
        [
            ("happy", "happiness"),
            ("sad", "sadness"),
            ("angry", "anger"),
            ("surprised", "surprise"),
            ("fearful", "fear"),
            ("disgusted", "disgust"),
            ("worried", "worry"),
            ("content", "contentment"),
            ("other", "others"),
        ]
    )

    def f(x: str) -> str:
        x = " ".join(x.lower().split())
        return syn.get(x, x)

    ds = datasets.get(folder)
    cands = {f(c) for c in ds.labels}
    stem = lambda n: Path(n).name.rsplit(".", 1)[0] if "." in Path(n).name else Path(n).name  # noqa: E731
    with (results_dir / folder / test_file).open() as fh:
        gt = {stem(r["name"]): r["gt"] for r in csv.DictReader(fh)}
    t, p = [], []
    with (results_dir / folder / run_file).open() as fh:
        for r in csv.DictReader(fh):
            labels = [f(x.strip(" '\"[]{}")) for x in r["gpt4v"].split(",")]
            labels = [x for x in labels if x]
            g = gt[stem(r["name"])]
            if not labels:
                continue  # never answered: left out
            first = labels[0]
            if first not in cands:
                # the paper's rule: an invalid first label is left out on the video datasets
                # and counts as wrong everywhere else
                if ds.task == "dynamic_facial":
                    continue
                first = "(invalid)"
            if ds.binary == "sentiment_score":
                if float(g) == 0:
                    continue
                t.append("pos" if float(g) > 0 else "neg")
                if first == "(invalid)":
                    p.append(first)
                else:
                    p.append("pos" if first in ("positive", "weakly positive") else "neg")
            else:
                t.append(f(g))
                p.append(first)
    if ds.metric == "WAF":
        return float(f1_score(t, p, average="weighted") * 100)
    return float(accuracy_score(t, p) * 100)


def test_released_sample_scores_match_an_independent_computation(released_dir: Path) -> None:
    loaded = sources.load([released_dir])
    assert loaded.errors == []
    rows = by_run(score_table(loaded.table).rows)
    assert len(rows) == 8
    cases = [
        ("affectnet", "label-gpt4v.csv", "label.csv"),
        ("dfew", "label-gpt4v.csv", "label.csv"),
        ("cmumosi", "label-gpt4v-multi.csv", "label.csv"),
        ("cmumosi", "label-gpt4v-video.csv", "label.csv"),
        ("twitter1", "label-three-gpt4v.csv", "label_at_least_three_agree.csv"),
    ]
    for folder, run_file, test_file in cases:
        got = rows[f"{folder}/{Path(run_file).stem}"]["value"]
        assert got == pytest.approx(independent_score(released_dir, folder, run_file, test_file))
    assert rows["dfew/label-gpt4v"]["n_total"] == 2341
    assert rows["cmumosi/label-gpt4v-multi"]["n_total"] == 656  # 30 scores of 0 left out
    assert rows["twitter1/label-five-gpt4v"]["n_total"] == 882
    assert np.isclose(rows["affectnet/label-gpt4v"]["majority"], 12.5)


def test_a_run_given_twice_is_named_not_double_counted(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.parquet"
    CliRunner().invoke(main, ["import", "gpt4v-emotion", str(results), "-o", str(out)])
    res = CliRunner().invoke(main, ["score", str(out), str(results / "sfew2")])
    assert res.exit_code == 2
    assert "given more than once" in res.stderr and "sfew2/label-gpt4v" in res.stderr
    assert "abstract/label-gpt4v" in res.stdout
