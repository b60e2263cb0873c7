"""The `first` column (the ranking's first label, stored so that scoring need not decode the
`ranking` list): tables carry it, Parquet files with it, without it (older files) and without
`ranking` at all score alike, bit for bit, under every rule set."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_score_stream import assert_rows_equal, generated, per_run, same

from ger_replay.io import scan, table
from ger_replay.io.writer import write_table
from ger_replay.score import stream


def _data(seed: int, n: int = 60) -> pl.DataFrame:
    """Generated runs where every third answered sample ranks an invented label first (before
    a candidate): there the first label and the first candidate differ."""
    df = generated(seed=seed, n=n, runs_per=1)
    every_third = (pl.int_range(pl.len()) % 3 == 0) & (pl.col("status") == table.OK)
    ranking = pl.when(every_third).then(pl.concat_list(pl.lit(["Pain"]), "ranking"))
    return table.conform(df.with_columns(ranking.otherwise("ranking").alias("ranking")))


def test_tables_carry_the_first_label_of_the_ranking() -> None:
    df = _data(5, 30)
    assert "first" in df.columns
    want = df.get_column("ranking").list.first()
    assert df.get_column("first").equals(want.alias("first"))
    assert df.get_column("first").null_count() > 0  # samples without a ranking
    # conform derives it from the ranking, whatever a `first` column said before
    stale = df.with_columns(pl.lit("Nonsense").alias("first"))
    assert table.conform(stale).get_column("first").equals(want.alias("first"))
    assert table.conform(df.drop("first")).get_column("first").equals(want.alias("first"))


@pytest.mark.parametrize("rules", ["paper", "strict", "lenient"])
def test_parquet_with_and_without_first_score_alike(tmp_path: Path, rules: str) -> None:
    df = _data(11)
    want = per_run(df, rules)
    files = {
        "with": df,
        "older": df.drop("first"),
        "no-ranking": df.drop("ranking"),  # scoring reads `first`, never the list
    }
    for name, frame in files.items():
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path)
        got = scan.scan([path])
        assert got.errors == []
        res = stream.score_sources(got.sources, rules)
        assert res.errors == []
        assert_rows_equal(res.rows, want)


def test_without_ranking_or_first_the_first_candidate_stands_in(tmp_path: Path) -> None:
    # neither column: `first` falls back to `pred`, as before the column existed
    df = _data(11)
    path = tmp_path / "bare.parquet"
    df.drop("first", "ranking").write_parquet(path)
    bare = stream.score_sources(scan.scan([path]).sources, "paper").rows
    paper = stream.score_frame(df, "paper").rows
    assert [r["value"] for r in bare] != [r["value"] for r in paper]
    # as if each first candidate had been ranked first
    as_if = df.with_columns(pl.col("pred").alias("first"))
    want = stream.score_sources([scan.Lazy(as_if.lazy(), None, frozenset(as_if.columns))], "paper")
    assert_rows_equal(bare, {r["run"]: r for r in want.rows})


def test_csv_and_jsonl_derive_first_from_the_ranking(tmp_path: Path) -> None:
    df = _data(13, 40)
    want = stream.score_frame(df, "paper").rows
    for suffix in (".csv", ".jsonl"):
        path = tmp_path / f"p{suffix}"
        # a stale `first` in a text file is not trusted: it is derived from `ranking`
        write_table(df.with_columns(pl.lit("Nonsense").alias("first")), path)
        res = stream.score_sources(scan.scan([path]).sources, "paper")
        assert res.errors == []
        for a, b in zip(res.rows, want, strict=True):
            assert same(a, b), (suffix, a["run"])
