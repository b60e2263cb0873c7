"""`ger-replay runs` over one predictions file or folder of Parquet parts: one streaming pass
(`score.run_counts`) that gives the lines a full load gives, flags and errors included."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from test_score_stream import generated

from ger_replay.analysis.overview import overview_of_counts, runs_overview
from ger_replay.cli import common, main
from ger_replay.errors import NAMES_SHOWN, some_names
from ger_replay.io import scan, table
from ger_replay.io.load import load
from ger_replay.io.writer import write_table
from ger_replay.score.run_counts import run_counts


def _table() -> pl.DataFrame:
    """Generated runs of every dataset, one of them mostly unanswered (partial) and one marked
    synthetic."""
    df = generated(seed=11, n=40, runs_per=1)
    half = (pl.col("run") == "dfew/gen-0") & (pl.col("sample_id") < "s0030")
    return df.with_columns(
        pl.when(half).then(pl.lit(table.UNANSWERED)).otherwise(pl.col("status")).alias("status"),
        (pl.col("run") == "sfew2/gen-0").alias("synthetic"),
    )


def test_streamed_lines_equal_those_of_the_loaded_table(tmp_path: Path) -> None:
    df = _table()
    path = tmp_path / "p.parquet"
    write_table(df, path)
    loaded = load([path])
    want = runs_overview(loaded.table)
    counts, errors = run_counts(scan.scan([path]).sources)
    assert not errors
    got = overview_of_counts(counts)
    assert got.equals(want)
    lines = {r["run"]: r for r in got.iter_rows(named=True)}
    assert lines["dfew/gen-0"]["flags"] == "partial"
    assert lines["sfew2/gen-0"]["flags"] == "SYNTHETIC"
    ok = df.group_by("run").agg((pl.col("status") == table.OK).sum()).rows()
    assert {r: n for r, n in ok} == {r: x["scored"] for r, x in lines.items()}


def test_cli_streams_a_folder_of_parts_and_names_a_run_that_repeats_a_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the table was loaded, not streamed")

    monkeypatch.setattr(common, "load", no_load)
    df = _table()
    folder = tmp_path / "parts"
    folder.mkdir()
    write_table(df.head(df.height // 2), folder / "a.parquet")
    rest = df.tail(df.height - df.height // 2)
    again = df.filter(pl.col("run") == "ckplus/gen-0").head(1)
    write_table(pl.concat([rest, again]), folder / "b.parquet")
    res = CliRunner().invoke(main, ["runs", str(folder), "--format", "json"])
    assert res.exit_code == 2
    assert "given more than once, or with duplicate samples: ckplus/gen-0" in res.stderr
    got = json.loads(res.stdout)["runs"]
    want = runs_overview(df.filter(pl.col("run") != "ckplus/gen-0")).to_dicts()
    assert got == want


def test_thousands_of_runs_given_twice_are_named_in_one_readable_line(tmp_path: Path) -> None:
    runs = [f"run-{i:04d}" for i in range(1200)]
    assert some_names(runs[:3]) == "run-0000, run-0001, run-0002"
    assert some_names(runs) == ", ".join(runs[:NAMES_SHOWN]) + f" and {1200 - NAMES_SHOWN:,} more"
    df = generated(seed=3, n=5, runs_per=1).head(5)
    many = pl.concat(df.with_columns(pl.lit(r).alias("run")) for r in runs)
    path = tmp_path / "many.parquet"
    write_table(many, path)
    for cmd in ("score", "runs"):
        res = CliRunner().invoke(main, [cmd, str(path), str(path)])
        assert res.exit_code == 2, (cmd, res.output)
        said = [ln for ln in res.stderr.splitlines() if "given more than once" in ln]
        assert len(said) == 1 and "and 1,180 more" in said[0], (cmd, said)
        assert "run-0019" in said[0] and "run-0020" not in said[0]
