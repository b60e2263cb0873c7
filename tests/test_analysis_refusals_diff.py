"""Refusals and cost (from the table and from a recorded run folder), and `diff`."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from test_analysis_synth import make_run, noisy_runs

from ger_replay.analysis import refusals as rf
from ger_replay.analysis.diff import diff
from ger_replay.cli import main
from ger_replay.io import load as sources
from ger_replay.io import table
from ger_replay.io.writer import write_table

REFUSAL = "I'm sorry, I can't help with that. These images show people."


def _completion(content: str, prompt: int, completion: int) -> dict[str, object]:
    body = {
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json"]},
        "body": {"string": json.dumps(body)},
    }


def _run_dir(root: Path) -> Path:
    """A run folder in the layout of docs/run-format.md: one batch of 4 samples, refused twice,
    then split; the first half answered, the second half refused once then answered."""
    d = root / "sfew2-run"
    (d / "cassettes").mkdir(parents=True)
    meta = {
        "schema_version": 1,
        "kind": "ger-replay-run",
        "name": "sfew2-run",
        "dataset": "sfew2",
        "labels": ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"],
        "model": "m",
        "template": "1",
        "frames": 3,
        "color": "rgb",
        "modality": "image",
        "repeat": 0,
        "batch_size": 4,
        "max_tries": 2,
        "sample_order": ["a", "b", "c", "d"],
    }
    (d / "run.json").write_text(json.dumps(meta))
    (d / "labels.csv").write_text("sample_id,gt\na,Happy\nb,Sad\nc,Fear\nd,Angry\n")
    calls = [
        (["a", "b", "c", "d"], "", 1, "refused", REFUSAL),
        (["a", "b", "c", "d"], "", 2, "refused", "I\u2019m sorry, I can't help with that."),
        (["a", "b"], "0", 1, "ok", "1. Happy\n2. Sad"),
        (["c", "d"], "1", 1, "refused", "I cannot assist with identifying people."),
        (["c", "d"], "1", 2, "ok", "1. Fear\n2. Angry"),
    ]
    responses = [_completion(text, 1000, 20) for *_, text in calls]
    cassette = {
        "version": 1,
        "interactions": [{"request": {}, "response": r} for r in responses],
        "metadata": {
            "ger_replay": {
                "batch": "b00000",
                "calls": [{"samples": s, "split": p, "attempt": a} for s, p, a, *_ in calls],
            }
        },
    }
    (d / "cassettes" / "b00000.json").write_text(json.dumps(cassette))
    events = [{"event": "open", "pid": 1, "resume": False}]
    for j, (s, p, a, outcome, _) in enumerate(calls):
        events.append(
            {
                "event": "call",
                "batch": "b00000",
                "samples": s,
                "split": p,
                "attempt": a,
                "outcome": outcome,
                "cassette": "cassettes/b00000.json",
                "interaction": j,
                "status_code": 200,
            }
        )
    events.insert(
        3,
        {
            "event": "call",
            "batch": "b00000",
            "samples": ["a", "b"],
            "split": "0",
            "attempt": 1,
            "outcome": "rate_limited",
            "interaction": None,
        },
    )
    events.append({"event": "batch_done", "batch": "b00000", "answered": 4, "unanswered": {}})
    (d / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return d


def test_status_counts_per_run() -> None:
    df = make_run(
        "r",
        "sfew2",
        ["a", "b", "c", "d", "e"],
        ["Happy"] * 5,
        [["Happy"], None, None, None, ["Pain"]],
        [table.OK, table.REFUSED, table.COUNT_MISMATCH, table.UNPARSEABLE, table.NO_CANDIDATE],
    )
    df = df.with_columns(
        pl.when(pl.col("sample_id") == "e")
        .then(pl.lit(["Pain"]))
        .otherwise(pl.col("invented"))
        .alias("invented")
    )
    row = rf.status_counts(df).row(0, named=True)
    assert (row["ok"], row["refused"], row["malformed"], row["no_candidate"]) == (1, 1, 2, 1)
    assert row["with_invented"] == 1 and row["n_samples"] == 5


def test_calls_retries_split_depth_tokens_and_wordings(tmp_path: Path) -> None:
    d = _run_dir(tmp_path)
    df = make_run(
        "sfew2-run",
        "sfew2",
        ["a", "b", "c", "d"],
        ["Happy", "Sad", "Fear", "Angry"],
        [["Happy"], ["Sad"], ["Fear"], ["Angry"]],
    )
    r = rf.refusals(df, sources.load([tmp_path]).calls)
    row = r.calls.row(0, named=True)
    assert row["run"] == "sfew2-run"
    assert row["calls"] == 6 and row["calls_refused"] == 3 and row["calls_rate_limited"] == 1
    assert row["retries"] == 2 and row["max_split_depth"] == 1 and row["split_calls"] == 4
    assert row["prompt_tokens"] == 5000 and row["total_tokens"] == 5100
    words = dict(r.wordings.select("wording", "calls").iter_rows())
    # Curly and straight apostrophes fold to one wording; only the first sentence counts.
    assert words == {
        "I'm sorry, I can't help with that.": 2,
        "I cannot assist with identifying people.": 1,
    }
    res = CliRunner().invoke(main, ["refusals", str(d), "--format", "json"])
    # The run folder is not a predictions source until the run reader lands; the CLI says so.
    assert res.exit_code in (0, 2)
    assert "Traceback" not in res.output


def test_diff_labels_statuses_and_metric_moves() -> None:
    a = noisy_runs(n=80, n_runs=2, seed=2)
    b = a.with_columns(
        pl.when((pl.col("run") == "sfew2/repeat-0") & (pl.col("sample_id") == "s0000"))
        .then(pl.lit("Disgust" if a.item(0, "pred") != "Disgust" else "Fear"))
        .otherwise(pl.col("pred"))
        .alias("pred"),
        pl.when((pl.col("run") == "sfew2/repeat-1") & (pl.col("sample_id") == "s0001"))
        .then(pl.lit(table.UNPARSEABLE))
        .otherwise(pl.col("status"))
        .alias("status"),
    ).filter(~((pl.col("run") == "sfew2/repeat-1") & (pl.col("sample_id") == "s0002")))
    d = diff(a, b)
    changes = {(r["run"], r["sample_id"]): r["change"] for r in d.samples.iter_rows(named=True)}
    assert changes == {
        ("sfew2/repeat-0", "s0000"): "label",
        ("sfew2/repeat-1", "s0001"): "status",
        ("sfew2/repeat-1", "s0002"): "only in A",
    }
    moved = d.metrics.filter(pl.col("moved"))
    assert "sfew2/repeat-1" in moved["run"].to_list()
    assert d.changed and not diff(a, a).changed


def test_cli_diff_exit_codes(tmp_path: Path) -> None:
    a = noisy_runs(n=40, n_runs=1)
    pa, pb = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_table(a, pa)
    # every answer becomes Happy (ranking and prediction alike: the paper's rules read the
    # ranking's first label)
    happy = pl.when(pl.col("ranking").is_not_null()).then(pl.lit(["Happy"]))
    write_table(a.with_columns(pl.lit("Happy").alias("pred"), happy.alias("ranking")), pb)
    runner = CliRunner()
    scores = tmp_path / "a.json"
    res = runner.invoke(main, ["score", str(pa), "--format", "json", "-o", str(scores)])
    assert res.exit_code == 0, res.output
    assert runner.invoke(main, ["diff", str(pa), str(pa)]).exit_code == 0
    assert runner.invoke(main, ["diff", str(pa), str(scores)]).exit_code == 0
    moved = runner.invoke(main, ["diff", str(pb), str(scores), "--format", "json"])
    assert moved.exit_code == 1
    changed = runner.invoke(main, ["diff", str(pa), str(pb)])
    assert changed.exit_code == 1 and "label" in changed.output
    bad = runner.invoke(main, ["diff", str(pa), str(tmp_path / "missing.parquet")])
    assert bad.exit_code == 2 and "no such file" in bad.output


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_cli_confusion_formats(tmp_path: Path, fmt: str) -> None:
    p = tmp_path / "r.parquet"
    write_table(noisy_runs(n=30, n_runs=1, p_fail=0.2), p)
    res = CliRunner().invoke(main, ["confusion", str(p), "--normalise", "--format", fmt])
    assert res.exit_code == 0, res.output
    assert "refused" in res.output
