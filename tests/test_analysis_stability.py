"""Stability over repeated runs, recomputed independently (statsmodels, numpy, hand cases)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from test_analysis_synth import make_run, noisy_runs

from ger_replay.analysis import stability as st
from ger_replay.cli import main
from ger_replay.errors import InputError
from ger_replay.io import load as sources
from ger_replay.io import table
from ger_replay.io.writer import write_table
from ger_replay.score.scoring import score_table

IDS = ["a", "b", "c", "d"]
GT = ["Happy", "Sad", "Angry", "Fear"]


def _hand_runs() -> pl.DataFrame:
    """Three runs, four samples; agreement a=3, b=2, c=1 (all differ), d=0 (none answered)."""
    r = [
        [["Happy", "Sad"], ["Sad", "Happy"], ["Angry", "Fear"], None],
        [["Happy", "Fear"], ["Sad", "Fear"], ["Fear", "Angry"], None],
        [["Happy", "Angry"], ["Neutral", "Sad"], ["Disgust", "Sad"], None],
    ]
    return pl.concat(
        [make_run(f"sfew2/r{i}", "sfew2", IDS, GT, rk, repeat=i) for i, rk in enumerate(r)]
    )


def test_agreement_histogram_and_modal_label_by_hand() -> None:
    s = st.stability(_hand_runs(), ci=False)
    ps = {r["sample_id"]: r for r in s.per_sample.iter_rows(named=True)}
    assert [ps[k]["agreement"] for k in IDS] == [3, 2, 1, 0]
    assert ps["a"]["modal"] == "Happy" and ps["b"]["modal"] == "Sad"
    assert [ps[k]["n_correct"] for k in IDS] == [3, 2, 1, 0]
    assert [ps[k]["n_labels"] for k in IDS] == [1, 2, 3, 0]
    hist = dict(s.histogram.select("agreement", "n_samples").iter_rows())
    assert hist == {0: 1, 1: 1, 2: 1, 3: 1}
    assert s.flips(1).item(0, "sample_id") == "c"


def test_per_run_spread_matches_numpy_accuracy() -> None:
    df = noisy_runs(n=150, n_runs=6, seed=4)
    s = st.stability(df, ci=False)
    accs = []
    for run_df in df.partition_by("run", maintain_order=True):
        ok = run_df.filter(pl.col("status") == table.OK)
        accs.append(float((ok["pred"] == ok["gt"]).mean()) * 100)
    summ = s.summary.row(0, named=True)
    assert summ["best"] == pytest.approx(max(accs))
    assert summ["worst"] == pytest.approx(min(accs))
    assert summ["spread"] == pytest.approx(max(accs) - min(accs))
    assert summ["std"] == pytest.approx(float(np.std(accs, ddof=1)))
    assert s.per_run.height == 7  # six runs and the majority vote


def test_fleiss_kappa_matches_statsmodels() -> None:
    df = noisy_runs(n=200, n_runs=5, p_right=0.5, seed=7)
    s = st.stability(df, ci=False)
    wide = (
        df.filter(pl.col("status") == table.OK)
        .pivot(on="run", index="sample_id", values="pred")
        .drop_nulls()
    )
    ratings = wide.drop("sample_id").to_numpy()
    counts, _ = aggregate_raters(ratings)
    expected = sm_fleiss_kappa(counts, method="fleiss")
    summ = s.summary.row(0, named=True)
    assert summ["kappa_samples"] == wide.height
    assert summ["fleiss_kappa"] == pytest.approx(expected, abs=1e-12)


def test_fleiss_kappa_small_cases() -> None:
    assert st.fleiss_kappa(np.array([[3, 0], [0, 3]])) == pytest.approx(1.0)
    # Two raters, two items split 1-1 and a uniform marginal: P = 0, Pe = 0.5, kappa = -1.
    assert st.fleiss_kappa(np.array([[1, 1], [1, 1]])) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        st.fleiss_kappa(np.array([[2, 0], [1, 0]]))


def test_majority_vote_breaks_ties_by_mean_rank() -> None:
    rk = [["Happy", "Sad"], ["Sad", "Happy"], ["Happy", "Sad"], ["Sad", "Fear", "Happy"]]
    df = pl.concat(
        [make_run(f"x/r{i}", "sfew2", ["a"], ["Sad"], [r], repeat=i) for i, r in enumerate(rk)]
    )
    maj = st.majority_vote(df)
    # Happy and Sad have two votes each; Sad's mean rank (0.5) beats Happy's (0.75).
    assert maj.item(0, "pred") == "Sad"
    assert maj.item(0, "ranking").to_list()[:2] == ["Sad", "Happy"]
    assert maj.item(0, "run") == "x/majority-of-4"
    # Equal votes and equal mean ranks: the order of the candidates decides (Happy before Sad).
    rk2 = [["Sad", "Happy"], ["Happy", "Sad"]]
    df2 = pl.concat(
        [make_run(f"y/r{i}", "sfew2", ["a"], ["Sad"], [r], repeat=i) for i, r in enumerate(rk2)]
    )
    assert st.majority_vote(df2).item(0, "pred") == "Happy"


def test_majority_vote_run_scores_like_any_other(tmp_path: Path) -> None:
    df = _hand_runs()
    maj = st.majority_vote(df)
    statuses = dict(maj.select("sample_id", "status").iter_rows())
    assert statuses == {"a": "ok", "b": "ok", "c": "ok", "d": table.UNANSWERED}
    path = tmp_path / "maj.parquet"
    write_table(maj, path)
    loaded = sources.load([path])
    assert not loaded.errors
    (row,) = score_table(loaded.table).rows
    # a: Happy (right), b: Sad (right), c: three one-vote labels -> mean rank ties -> Angry (right
    # by candidate order: Angry, Disgust, Fear), d unanswered.
    assert row["n_scored"] == 3 and row["value"] == pytest.approx(100.0)


def test_one_run_or_mixed_datasets_are_refused() -> None:
    one = _hand_runs().filter(pl.col("run") == "sfew2/r0")
    with pytest.raises(InputError, match="two or more runs"):
        st.stability(one)
    mixed = pl.concat(
        [
            _hand_runs().filter(pl.col("run") == "sfew2/r0"),
            make_run("dfew/r", "dfew", IDS, GT, [["Happy"]] * 4),
        ]
    )
    with pytest.raises(InputError, match="one dataset"):
        st.stability(mixed)


def test_cli_stability(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    write_table(noisy_runs(n=60, n_runs=3), path)
    maj = tmp_path / "maj.csv"
    res = CliRunner().invoke(
        main, ["stability", str(path), "--no-ci", "--majority", str(maj), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    assert maj.exists() and sources.load([maj]).table.height == 60
    one = CliRunner().invoke(main, ["stability", str(path), "--run", "sfew2/repeat-0"])
    assert one.exit_code == 2
    assert "two or more runs" in one.output
    assert "Traceback" not in one.output
