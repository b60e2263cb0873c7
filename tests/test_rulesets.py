"""The rule sets of PROTOCOL.md part 3 on every task kind, on synthetic runs (no shared data):
which samples each rule set scores and what it predicts, and the polars expressions alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from ger_replay.cli import main
from ger_replay.io import table
from ger_replay.io.writer import write_table
from ger_replay.protocol import datasets, rulesets
from ger_replay.protocol.datasets import Task
from ger_replay.protocol.rulesets import Fate, Pick, RuleSet
from ger_replay.score import rulesets as apply_rules
from ger_replay.score.scoring import code_run, score_table

#: One dataset of each task kind (multimodal twice: labels and sentiment scores).
KINDS = {
    Task.VISUAL_SENTIMENT: "twitter2",
    Task.TWEET_SENTIMENT: "mvsa_single",
    Task.MICRO_EXPRESSION: "casme",
    Task.FACIAL_EMOTION: "sfew2",
    Task.DYNAMIC_FACIAL: "dfew",
    Task.MULTIMODAL: "mer_multi",
}
KEYS = [*KINDS.values(), "cmumosi"]


def five_samples(key: str) -> pl.DataFrame:
    """Five samples of one dataset, all of the same true class:
    r: first label right;  i: first label invented, the right candidate second;
    x: only invented labels;  f: refused;  u: absent from the run."""
    ds = datasets.get(key)
    gt, right = ("1.5", "positive") if key in ("cmumosi", "chsims") else (ds.labels[0],) * 2
    rankings = [[right], ["Pain", right], ["Pain", "Concentration"], None, None]
    return table.run_frame(
        {"run": f"{key}/synthetic", "dataset": ds.key, "model": "m"},
        ["r", "i", "x", "f", "u"],
        [gt] * 5,
        rankings,
        [right, right, None, None, None],
        [table.OK, table.OK, table.NO_CANDIDATE, table.REFUSED, table.UNANSWERED],
    )


def outcome(key: str, rules: str) -> tuple[int, float]:
    (row,) = score_table(five_samples(key), rules).rows
    assert row["rules"] == rules
    assert row["n_total"] == 5
    return row["n_scored"], row["value"]


@pytest.mark.parametrize("key", KEYS)
def test_paper_rules_on_every_task_kind(key: str) -> None:
    n, value = outcome(key, "paper")
    if datasets.get(key).task is Task.DYNAMIC_FACIAL:
        # invalid first labels (i, x) are left out on video datasets: only r is scored
        assert (n, value) == (1, 100.0)
    else:
        # i and x are scored and wrong; refused and absent are left out
        assert n == 3
        if datasets.get(key).metric != "WAF":
            assert value == pytest.approx(100 / 3)


def test_paper_rules_split_video_from_image_tasks() -> None:
    for task, key in KINDS.items():
        n, _ = outcome(key, "paper")
        assert n == (1 if task is Task.DYNAMIC_FACIAL else 3), task


@pytest.mark.parametrize("key", KEYS)
def test_strict_scores_every_sample_and_only_the_first_label(key: str) -> None:
    n, value = outcome(key, "strict")
    assert n == 5
    if datasets.get(key).metric != "WAF":
        assert value == pytest.approx(20.0)


@pytest.mark.parametrize("key", KEYS)
def test_lenient_takes_the_first_candidate_and_leaves_the_rest_out(key: str) -> None:
    n, value = outcome(key, "lenient")
    assert (n, value) == (2, 100.0)


def test_strict_waf_counts_the_failures_as_wrong() -> None:
    # cmumosi, all five positive: strict predicts positive for r only; the others count wrong
    (row,) = score_table(five_samples("cmumosi"), "strict").rows
    # weighted F1 over the true class only: recall 1/5, precision 1 -> F1 = 2*0.2/(1.2)
    assert row["value"] == pytest.approx(2 * 0.2 / 1.2 * 100)


def test_a_top_neutral_is_a_valid_negative_on_sentiment_scores() -> None:
    df = five_samples("cmumosi").with_columns(
        pl.when(pl.col("sample_id") == "i")
        .then(pl.lit(["neutral", "positive"]))
        .otherwise(pl.col("ranking"))
        .alias("ranking")
    )
    c = code_run(df.filter(pl.col("sample_id").is_in(["r", "i"])), rules="paper")
    assert c.scored.tolist() == [True, True]
    neg = c.classes.index("negative")
    assert c.pred.tolist()[1] == neg


def test_synonyms_fold_before_the_validity_check() -> None:
    df = table.run_frame(
        {"run": "s", "dataset": "sfew2"},
        ["a", "b"],
        ["Happy", "Sad"],
        [["happiness", "Sad"], ["sadness"]],
        ["Happy", "Sad"],
        [table.OK, table.OK],
    )
    (row,) = score_table(df, "paper").rows
    assert (row["n_scored"], row["value"]) == (2, 100.0)


def test_rule_definitions_are_the_protocol() -> None:
    paper, strict, lenient = (rulesets.get(r) for r in ("paper", "strict", "lenient"))
    assert paper.pick is strict.pick is Pick.FIRST_LABEL
    assert lenient.pick is Pick.FIRST_CANDIDATE
    for task in Task:
        video = task is Task.DYNAMIC_FACIAL
        assert paper.invalid(task) is (Fate.LEFT_OUT if video else Fate.WRONG)
        assert strict.invalid(task) is Fate.WRONG
        assert lenient.invalid(task) is Fate.LEFT_OUT
    assert (paper.unanswered, strict.unanswered, lenient.unanswered) == (
        Fate.LEFT_OUT,
        Fate.WRONG,
        Fate.LEFT_OUT,
    )
    assert rulesets.DEFAULT is RuleSet.PAPER
    with pytest.raises(rulesets.UnknownRuleSet, match="paper, strict, lenient"):
        rulesets.get("loose")


def test_expressions_run_lazily_over_many_tasks_at_once() -> None:
    """The rule sets are plain expressions over columns: one lazy pass over a mixed table."""
    coded = pl.LazyFrame(
        {
            "first": [0, None, None, None, 1, None],
            "cand": [0, 2, None, None, 1, 3],
            "answered": [True, True, True, False, True, True],
            "task": ["facial_emotion"] * 4 + ["dynamic_facial"] * 2,
        }
    )
    got = {
        r: apply_rules.apply(coded, r).select("pred_code", "scored").collect()
        for r in ("paper", "strict", "lenient")
    }
    assert got["paper"].get_column("scored").to_list() == [True, True, True, False, True, False]
    assert got["paper"].get_column("pred_code").to_list() == [0, -1, -1, -1, 1, -1]
    assert got["strict"].get_column("scored").to_list() == [True] * 6
    assert got["lenient"].get_column("scored").to_list() == [True, True, False, False, True, True]
    assert got["lenient"].get_column("pred_code").to_list() == [0, 2, -1, -1, 1, 3]


def test_every_format_names_its_rule_set(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    write_table(five_samples("sfew2"), path)
    runner = CliRunner()
    for fmt in ("table", "markdown", "latex"):
        res = runner.invoke(main, ["score", str(path), "--rules", "strict", "--format", fmt])
        assert res.exit_code == 0, res.output
        assert "rules: strict:" in res.stdout.splitlines()[-1]
    res = runner.invoke(main, ["score", str(path), "--format", "csv"])
    head, row = res.stdout.splitlines()[:2]
    assert row.split(",")[head.split(",").index("rules")] == "paper"
    res = runner.invoke(main, ["score", str(path), "--rules", "lenient", "--format", "json"])
    assert json.loads(res.stdout)[0]["rules"] == "lenient"
    bad = runner.invoke(main, ["score", str(path), "--missing", "wrong"])
    assert bad.exit_code == 2 and "--missing" in bad.output


def test_analysis_commands_take_rules(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    write_table(five_samples("sfew2"), path)
    runner = CliRunner()
    res = runner.invoke(main, ["confusion", str(path), "--rules", "strict", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["rules"] == "strict"
    recall = out["class-wise recall, precision, F1 (%)"]
    angry = next(r for r in recall if r["class"] == "Angry")
    assert angry["support"] == 5 and angry["recall"] == pytest.approx(20.0)
    res = runner.invoke(main, ["confusion", str(path)])
    assert "rules: paper:" in res.stdout
    res = runner.invoke(main, ["diff", str(path), str(path), "--rules", "lenient"])
    assert res.exit_code == 0 and "rules: lenient:" in res.stdout


def test_coded_runs_hold_the_rule_set() -> None:
    df = five_samples("sfew2")
    for r in ("paper", "strict", "lenient"):
        c = code_run(df, rules=r)
        assert c.rules == r
        t, p = c.select()
        assert len(t) == len(p) == int(np.sum(c.scored))


def test_stability_votes_follow_the_rule_set() -> None:
    from ger_replay.analysis.stability import majority_vote, stability

    def run(i: int) -> pl.DataFrame:
        return table.run_frame(
            {"run": f"sfew2/r{i}", "dataset": "sfew2", "model": "m", "repeat": i},
            ["a", "b"],
            ["Happy", "Sad"],
            [["Pain", "Happy"], ["Sad"]],
            ["Happy", "Sad"],
            [table.OK, table.OK],
        )

    df = pl.concat([run(i) for i in range(3)])
    agree = {
        r: dict(stability(df, r, ci=False).per_sample.select("sample_id", "agreement").iter_rows())
        for r in ("paper", "lenient")
    }
    # paper: the first label Pain is no candidate, so sample a gets no vote
    assert agree["paper"] == {"a": 0, "b": 3}
    assert agree["lenient"] == {"a": 3, "b": 3}
    paper_vote = majority_vote(df, rules="paper").sort("sample_id")
    assert paper_vote.get_column("status").to_list() == ["unanswered", "ok"]
    assert majority_vote(df, rules="lenient").sort("sample_id").item(0, "pred") == "Happy"


def test_expect_names_a_change_of_rule_set(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    write_table(five_samples("dfew"), path)
    runner = CliRunner()
    exp = tmp_path / "paper.json"
    assert (
        runner.invoke(main, ["score", str(path), "--format", "json", "-o", str(exp)]).exit_code == 0
    )
    assert runner.invoke(main, ["score", str(path), "--expect", str(exp)]).exit_code == 0
    res = runner.invoke(main, ["score", str(path), "--rules", "strict", "--expect", str(exp)])
    assert res.exit_code == 1
    assert "scored under the strict rules, the expected scores under paper" in res.stderr


def test_diff_refuses_a_json_scoring_of_other_rules(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    write_table(five_samples("dfew"), path)
    runner = CliRunner()
    exp = tmp_path / "strict.json"
    args = ["score", str(path), "--rules", "strict", "--format", "json", "-o", str(exp)]
    assert runner.invoke(main, args).exit_code == 0
    res = runner.invoke(main, ["diff", str(path), str(exp)])
    assert res.exit_code == 2 and "--rules strict" in res.stderr
    assert runner.invoke(main, ["diff", str(path), str(exp), "--rules", "strict"]).exit_code == 0


def test_the_cli_names_every_rule_set() -> None:
    from ger_replay.cli import common

    assert common.RULE_SETS == rulesets.NAMES
    assert common.RULE_SETS[0] == str(rulesets.DEFAULT)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("rules", [r.value for r in RuleSet])
def test_no_label_scores_as_a_refusal_under_every_rule_set(key: str, rules: str) -> None:
    """An answer in prose naming no label gives no prediction: scored as the refused sample is."""
    refused = five_samples(key)
    no_label = refused.with_columns(
        pl.when(pl.col("status") == table.REFUSED)
        .then(pl.lit(table.NO_LABEL))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    assert set(no_label["status"]) - set(refused["status"]) == {table.NO_LABEL}
    (a,) = score_table(refused, rules).rows
    (b,) = score_table(no_label, rules).rows
    assert (a["n_scored"], a["value"]) == (b["n_scored"], b["value"])
