"""`ger-replay score --bootstrap` and `ger-replay compare` on generated and released runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from ger_replay.cli import main
from ger_replay.io import table
from ger_replay.io.writer import write_table
from ger_replay.protocol import datasets


def make_run(name: str, color: str, right: float, seed: int, n: int = 300) -> pl.DataFrame:
    ds = datasets.get("sfew2")
    labels = list(ds.labels)
    rng = np.random.default_rng(seed)
    truth_rng = np.random.default_rng(0)  # the same samples and truth in every run
    gt = [labels[i] for i in truth_rng.integers(0, len(labels), n)]
    pred = [g if rng.random() < right else labels[int(rng.integers(0, len(labels)))] for g in gt]
    status = ["ok"] * n
    status[0] = "refused"
    return table.run_frame(
        {"run": name, "dataset": "sfew2", "color": color},
        sample_id=[f"s{i}" for i in range(n)],
        gt=gt,
        ranking=[[p] for p in pred],
        pred=[None if s != "ok" else p for p, s in zip(pred, status, strict=True)],
        status=status,
    )


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path, Path]:
    a = make_run("sfew2/rgb", "rgb", 0.5, 1)
    b = make_run("sfew2/gray", "gray", 0.7, 2)
    pa, pb, both = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "both.parquet"
    write_table(a, pa)
    write_table(b, pb)
    write_table(pl.concat([a, b]), both)
    return pa, pb, both


def test_score_fills_intervals_in_every_format(two_runs: tuple[Path, Path, Path]):
    _, _, both = two_runs
    runner = CliRunner()
    args = ["score", str(both), "--bootstrap", "2000", "--seed", "3"]
    out = runner.invoke(main, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert len(rows) == 2
    for r in rows:
        assert r["ci_low"] < r["value"] < r["ci_high"]
        assert r["confidence"] == 0.95
    again = json.loads(runner.invoke(main, [*args, "--format", "json"]).output)
    assert [(r["ci_low"], r["ci_high"]) for r in again] == [
        (r["ci_low"], r["ci_high"]) for r in rows
    ]
    text = runner.invoke(main, [*args, "--format", "csv"]).output
    got = list(csv.DictReader(io.StringIO(text)))
    assert float(got[0]["ci_low"]) == pytest.approx(rows[0]["ci_low"])
    md = runner.invoke(main, [*args, "--format", "markdown", "--confidence", "0.9"]).output
    assert "90% CI" in md and f"{rows[0]['value']:.2f}" in md
    for fmt in ("table", "latex"):
        assert "[" in runner.invoke(main, [*args, "--format", fmt]).output
    bca = json.loads(runner.invoke(main, [*args, "--format", "json", "--ci-method", "bca"]).output)
    assert bca[0]["ci_method"] == "bca"
    assert bca[0]["ci_low"] < bca[0]["value"] < bca[0]["ci_high"]
    plain = json.loads(runner.invoke(main, ["score", str(both), "--format", "json"]).output)
    assert plain[0]["ci_low"] is None


def test_score_rejects_bad_bootstrap_options(two_runs: tuple[Path, Path, Path]):
    _, _, both = two_runs
    runner = CliRunner()
    assert runner.invoke(main, ["score", str(both), "--confidence", "1.5"]).exit_code == 2
    assert runner.invoke(main, ["score", str(both), "--bootstrap", "-1"]).exit_code == 2
    assert runner.invoke(main, ["score", str(both), "--ci-method", "basic"]).exit_code == 2


def test_compare_two_paths_and_named_runs(two_runs: tuple[Path, Path, Path]):
    pa, pb, both = two_runs
    runner = CliRunner()
    out = runner.invoke(
        main, ["compare", str(pa), str(pb), "--format", "json", "--bootstrap", "3000"]
    )
    assert out.exit_code == 0, out.output
    r = json.loads(out.output)
    assert (r["run_a"], r["run_b"], r["metric"]) == ("sfew2/rgb", "sfew2/gray", "acc")
    assert r["n_paired"] == 299  # sample s0 is refused in both runs
    assert r["diff"] == pytest.approx(r["value_b"] - r["value_a"])
    assert r["ci_low"] < r["diff"] < r["ci_high"]
    assert r["ci_low"] > 0 and r["p_value"] < 0.01 and r["mcnemar_p"] < 0.01
    assert r["both_correct"] + r["only_a"] + r["only_b"] + r["neither"] == r["n_paired"]
    named = runner.invoke(
        main,
        [
            "compare",
            str(both),
            "--run-a",
            "sfew2/rgb",
            "--run-b",
            "sfew2/gray",
            "--format",
            "json",
            "--bootstrap",
            "3000",
        ],
    )
    assert json.loads(named.output)["ci_low"] == r["ci_low"]
    text = runner.invoke(main, ["compare", str(pa), str(pb), "--metric", "waf"]).output
    assert "b - a" in text and "waf" in text


def test_compare_errors_exit_2(two_runs: tuple[Path, Path, Path], tmp_path: Path):
    pa, _, both = two_runs
    runner = CliRunner()
    one = runner.invoke(main, ["compare", str(both)])
    assert one.exit_code == 2 and "two paths" in one.output
    many = runner.invoke(main, ["compare", str(both), str(pa)])
    assert many.exit_code == 2 and "--run-a" in many.output
    missing = runner.invoke(main, ["compare", str(both), "--run-a", "x", "--run-b", "sfew2/rgb"])
    assert missing.exit_code == 2 and "no run named 'x'" in missing.output
    half = runner.invoke(main, ["compare", str(both), "--run-a", "sfew2/rgb"])
    assert half.exit_code == 2
    other = make_run("ck/rgb", "rgb", 0.5, 1).with_columns(
        pl.lit("casme").alias("dataset"), pl.lit("tense").alias("gt"), pl.lit("tense").alias("pred")
    )
    po = tmp_path / "other.parquet"
    write_table(other, po)
    diff_ds = runner.invoke(main, ["compare", str(pa), str(po)])
    assert diff_ds.exit_code == 2 and "same dataset" in diff_ds.output


def test_released_runs_score_and_compare(released_dir: Path):
    runner = CliRunner()
    out = runner.invoke(
        main, ["score", str(released_dir), "--bootstrap", "10000", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert len(rows) == 8
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows)
    cmp = runner.invoke(
        main,
        [
            "compare",
            str(released_dir),
            "--run-a",
            "cmumosi/label-gpt4v-video",
            "--run-b",
            "cmumosi/label-gpt4v-multi",
            "--format",
            "json",
        ],
    )
    assert cmp.exit_code == 0, cmp.output
    r = json.loads(cmp.output)
    assert r["diff"] > 20 and r["ci_low"] > 15 and r["mcnemar_p"] is None  # WAF
