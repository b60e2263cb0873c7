"""Confusion, class-wise recall, per-class consistency and robustness sets, against
scikit-learn and hand counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score, recall_score
from sklearn.metrics import confusion_matrix as sk_confusion
from test_analysis_synth import make_run, noisy_runs

from ger_replay.analysis import confusion, consistency, robustness, runsets
from ger_replay.errors import InputError
from ger_replay.io import load as sources
from ger_replay.io import table
from ger_replay.protocol import datasets
from ger_replay.score.scoring import score_table


def test_confusion_counts_match_sklearn_and_failures_are_columns() -> None:
    df = noisy_runs(n=300, n_runs=1, p_fail=0.1, seed=3)
    labels = list(datasets.get("sfew2").labels)
    long = confusion.confusion(df)
    counts = confusion.wide(long, "count")
    ok = df.filter(pl.col("status") == table.OK)
    expected = sk_confusion(ok["gt"].to_list(), ok["pred"].to_list(), labels=labels)
    assert counts.select(labels).to_numpy().tolist() == expected.tolist()
    refused = df.filter(pl.col("status") == table.REFUSED).group_by("gt").len()
    got = dict(counts.select("truth", "refused").iter_rows())
    assert {k: v for k, v in got.items() if v} == dict(refused.iter_rows())
    pct = confusion.wide(long, "row_percent").drop("truth").to_numpy()
    assert np.allclose(pct.sum(axis=1), 100.0)


def test_class_recall_matches_sklearn() -> None:
    df = noisy_runs(n=200, n_runs=1, p_fail=0.0, seed=5)
    labels = list(datasets.get("sfew2").labels)
    rec = confusion.class_recall(df)
    expected = recall_score(df["gt"].to_list(), df["pred"].to_list(), labels=labels, average=None)
    assert rec.get_column("recall").to_numpy() == pytest.approx(expected * 100)


def test_confusion_of_released_dfew_keeps_unanswered_visible(released_dir: Path) -> None:
    df = sources.load([released_dir / "dfew"]).table
    long = confusion.confusion(df)
    assert int(long["count"].sum()) == 2341
    assert int(long.filter(pl.col("predicted") == table.UNANSWERED)["count"].sum()) == 4
    (row,) = score_table(df).rows
    diag = long.filter(pl.col("truth") == pl.col("predicted"))["count"].sum()
    assert diag / row["n_scored"] * 100 == pytest.approx(row["value"])


def _pair() -> pl.DataFrame:
    ids = ["1", "2", "3", "4", "5", "6"]
    gt = ["Happy", "Happy", "Happy", "Sad", "Sad", "Sad"]
    a = [["Happy"], ["Happy"], ["Sad"], ["Sad"], ["Happy"], ["Sad"]]
    b = [["Happy"], ["Sad"], ["Sad"], ["Sad"], ["Sad"], None]
    return pl.concat(
        [
            make_run("rafdb/rgb", "sfew2", ids, gt, a, color="rgb"),
            make_run("rafdb/gray", "sfew2", ids, gt, b, color="gray"),
        ]
    )


def test_consistency_per_class_by_hand_and_kappa_against_sklearn() -> None:
    df = _pair()
    assert consistency.color_pairs(df) == [("rafdb/rgb", "rafdb/gray")]
    c = consistency.consistency(df, "rafdb/rgb", "rafdb/gray")
    rows = {r["class"]: r for r in c.per_class.iter_rows(named=True)}
    # Happy: both answered 3, agree on samples 1 and 3 -> 2/3.
    assert rows["Happy"]["n_both"] == 3 and rows["Happy"]["agree"] == 2
    assert rows["Happy"]["agreement"] == pytest.approx(200 / 3)
    # Sad: sample 6 unanswered by gray; of 4 and 5, agree on 4 only.
    assert rows["Sad"]["n_both"] == 2 and rows["Sad"]["agreement"] == pytest.approx(50.0)
    assert rows["Sad"]["only_a"] == 1 and rows["Sad"]["only_b"] == 1
    a = ["Happy", "Happy", "Sad", "Sad", "Happy"]
    b = ["Happy", "Sad", "Sad", "Sad", "Sad"]
    assert c.summary.item(0, "cohen_kappa") == pytest.approx(cohen_kappa_score(a, b))


def test_consistency_refuses_one_run_and_mixed_datasets() -> None:
    df = _pair()
    with pytest.raises(InputError, match="two different runs"):
        consistency.consistency(df, "rafdb/rgb", "rafdb/rgb")
    other = make_run("d/x", "dfew", ["1"], ["Happy"], [["Happy"]])
    with pytest.raises(InputError, match="one dataset"):
        consistency.consistency(pl.concat([df, other]), "rafdb/rgb", "d/x")
    with pytest.raises(InputError, match="no run named"):
        consistency.consistency(df, "rafdb/rgb", "nope")


def test_template_robustness_set_and_deltas() -> None:
    df = noisy_runs(n=200, vary="template", levels=["2", "1", "3"], seed=9)
    sets = runsets.factor_sets(df, ["template"])
    assert len(sets) == 1 and {lv for lv, _ in sets[0].levels} == {"1", "2", "3"}
    rob = robustness.robustness(df, ["template"], ci=False)
    assert rob.get_column("level").to_list() == ["1", "2", "3"]
    ref = rob.filter(pl.col("reference"))
    assert ref.item(0, "level") == "1" and ref.item(0, "delta") is None
    for r in rob.filter(~pl.col("reference")).iter_rows(named=True):
        assert r["delta"] == pytest.approx(r["value"] - ref.item(0, "value"))
    scores = {r["run"]: r["value"] for r in score_table(df).rows}
    assert dict(rob.select("run", "value").iter_rows()) == pytest.approx(scores)
    # Repeats of one setting are not a robustness set.
    assert robustness.robustness(noisy_runs(n=20), ci=False).height == 0


def test_released_modality_set_is_table_9(released_dir: Path) -> None:
    df = sources.load([released_dir / "cmumosi"]).table
    rob = robustness.robustness(df, ci=False)
    wide = robustness.wide(rob, "modality")
    assert wide.get_column("level").to_list() == ["text", "video", "multi"]
    scores = {r["modality"]: r["value"] for r in score_table(df).rows}
    assert wide.get_column("CMU-MOSI").to_list() == pytest.approx(
        [scores["text"], scores["video"], scores["multi"]]
    )
    assert rob.filter(pl.col("reference")).item(0, "level") == "multi"


def test_twitter_subsets_are_not_repeats(released_dir: Path) -> None:
    df = sources.load([released_dir / "twitter1"]).table
    assert runsets.repeat_sets(df) == []
    info = runsets.run_info(df)
    assert sorted(info.get_column("subset").to_list()) == ["3 agree", "4 agree", "5 agree"]
