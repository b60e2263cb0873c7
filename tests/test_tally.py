"""The one-pass tally (`_core.Tally`, `ger_replay.score.tally`) against polars doing the same
by group-by: counts, first rows, repeated samples; for any values, batch sizes and threads."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_score_stream import generated

import ger_replay._core as _core
from ger_replay.errors import CoreError, GerReplayError
from ger_replay.io import scan
from ger_replay.io.writer import write_table
from ger_replay.score import stream
from ger_replay.score import tally as tally_module
from ger_replay.score.tally import RUN_PREFIX, VALUES, parts, rows_at, tally

COLS = ["run", "sample_id", *VALUES]

# Short and long strings (12 bytes is the widest kept inline), empty ones, non-ASCII, NUL.
text = st.one_of(
    st.sampled_from(["", "a", "a\0", "Happy", "abcdefghijkl", "abcdefghijklm", "ünïcødé ✓"]),
    st.text(min_size=0, max_size=30),
)
maybe = st.one_of(st.none(), text)


def _cols(df: pl.DataFrame) -> list[list[pl.DataFrame] | None]:
    """The six columns of a batch, as the core takes them."""
    return [parts(df.get_column(c)) for c in COLS]


def _core_tally(df: pl.DataFrame, batch: int, check: bool = True) -> tuple[dict, list[int]]:
    t = _core.Tally(check)
    firsts: list[int] = []
    for at in range(0, df.height, batch):
        firsts += [at + i for i in t.add(_cols(df.slice(at, batch)))]
    return t.finish(), firsts


def _decoded(got: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [
            pl.Series("run", got["runs"], dtype=pl.String).gather(got["run"]),
            *(
                pl.Series(c, got["values"][i], dtype=pl.String).gather(got["sets"][got["set"], i])
                for i, c in enumerate(VALUES)
            ),
            pl.Series("n", got["n"]).cast(pl.UInt32),
        ]
    )


def _by_polars(df: pl.DataFrame) -> pl.DataFrame:
    return df.group_by("run", *VALUES).len("n")


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    key = ["run", *VALUES]
    return a.sort(key, nulls_last=True).equals(b.select(a.columns).sort(key, nulls_last=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["r1", "a run name over 12 bytes", "r3"]), text, maybe, maybe),
        min_size=1,
        max_size=60,
    ),
    batch=st.integers(1, 70),
)
def test_counts_and_first_rows_equal_a_group_by(rows: list, batch: int) -> None:
    df = pl.DataFrame(
        {
            "run": [r[0] for r in rows],
            "sample_id": [f"s{i}" for i in range(len(rows))],
            "gt": [r[1] for r in rows],
            "status": ["ok"] * len(rows),
            "pred": [r[2] for r in rows],
            "first": [r[3] for r in rows],
        },
        schema=dict.fromkeys(COLS, pl.String),
    )
    got, firsts = _core_tally(df, batch)
    assert _same(_decoded(got), _by_polars(df))
    # the runs in order of first appearance, found at their first rows
    want = df.with_row_index().unique("run", keep="first", maintain_order=True)
    assert got["runs"] == want.get_column("run").to_list()
    assert firsts == want.get_column("index").to_list()
    assert got["maybe_duplicated"] == []
    # missing is code 0 in every column, then the values in byte order; the sets are distinct
    for vals in got["values"]:
        assert vals[0] is None and vals[1:] == sorted(vals[1:], key=lambda v: v.encode())
        assert len(set(vals)) == len(vals)
    assert len({tuple(s) for s in got["sets"].tolist()}) == len(got["sets"])


def test_large_tables_split_between_threads_count_the_same_as_polars() -> None:
    # 200k rows: each batch is counted on every thread; runs interleaved and in blocks
    n = 200_000
    df = pl.DataFrame({"i": range(n)}).select(
        pl.when(pl.col("i") % 3 == 0)
        .then(pl.format("block-{}", pl.col("i") // 7000))
        .otherwise(pl.format("r{}", pl.col("i") % 11))
        .alias("run"),
        pl.format("sample-{}", pl.col("i")).alias("sample_id"),
        pl.format("g{}", pl.col("i") % 7).alias("gt"),
        pl.lit("ok").alias("status"),
        pl.when(pl.col("i") % 13 == 0)
        .then(None)
        .otherwise(pl.format("p{}", pl.col("i") % 5))
        .alias("pred"),
        pl.format("a first label {}", pl.col("i") % 3).alias("first"),
    )
    for batch in (n, 50_000, 9_999):
        got, firsts = _core_tally(df, batch)
        assert _same(_decoded(got), _by_polars(df))
        assert got["maybe_duplicated"] == []
        want = df.with_row_index().unique("run", keep="first", maintain_order=True)
        assert firsts == want.get_column("index").to_list()


def test_repeated_samples_are_found_in_their_run_only() -> None:
    df = generated(seed=3, n=40, runs_per=2).select(COLS)
    got, _ = _core_tally(df, 17)
    assert got["maybe_duplicated"] == []
    # one sample of one run twice, far apart; the same sample in another run is no repeat
    twice = pl.concat([df, df.filter(pl.col("run") == "affectnet/gen-1").head(1)])
    got, _ = _core_tally(twice, 17)
    assert [got["runs"][i] for i in got["maybe_duplicated"]] == ["affectnet/gen-1"]
    # without the check nothing is hashed and nothing found
    got, _ = _core_tally(twice, 17, check=False)
    assert got["maybe_duplicated"] == []


def test_bad_batches_are_errors() -> None:
    t = _core.Tally()
    ok = pl.DataFrame({c: ["x"] for c in COLS})
    t.add(_cols(ok))
    with pytest.raises(CoreError, match="5 columns given, not 6"):
        _core.Tally().add(_cols(ok)[:5])
    with pytest.raises(CoreError, match='column "gt" is missing'):
        _core.Tally().add([*_cols(ok)[:2], None, *_cols(ok)[3:]])
    with pytest.raises(CoreError, match='column "run": a stream of 2 columns'):
        _core.Tally().add([[ok.select("run", "gt")], *_cols(ok)[1:]])
    with pytest.raises(CoreError, match="differ in length"):
        _core.Tally().add([[ok.select("run"), ok.select("run")], *_cols(ok)[1:]])
    with pytest.raises(CoreError, match="differ in length"):
        _core.Tally().add([*_cols(ok)[:2], [], *_cols(ok)[3:]])  # a column of no parts
    with pytest.raises(CoreError, match='column "gt" is'):
        _core.Tally().add(_cols(ok.with_columns(pl.lit(1).alias("gt"))))
    with pytest.raises(CoreError, match="row 2 has no run name"):
        _core.Tally().add(
            _cols(pl.concat([ok, ok.with_columns(pl.lit(None, pl.String).alias("run"))]))
        )
    with pytest.raises(CoreError, match="row 1 has no sample id"):
        _core.Tally().add(_cols(ok.with_columns(pl.lit(None, pl.String).alias("sample_id"))))
    # a column of no type is refused (the scorer casts every column to strings first)
    with pytest.raises(CoreError):
        _core.Tally().add(_cols(ok.with_columns(pl.lit(None).alias("pred"))))
    # all-null columns are read as missing values; a finished tally takes no more
    t.add(_cols(ok.with_columns(pl.lit(None, pl.String).alias("pred"))))
    got = t.finish()
    assert sorted(got["values"][2], key=str) == [None, "x"]
    with pytest.raises(CoreError, match="finished"):
        t.add(_cols(ok))


def test_columns_cut_apart_and_a_missing_first_label() -> None:
    """Columns whose arrays end at different rows are counted as if whole; with
    `first_or_pred` a missing first label is the prediction, and without `first` none is read."""
    df = pl.DataFrame(
        {
            "run": ["r1", "r1", "r2", "r2", "r1", "a run name longer than twelve"],
            "sample_id": ["a", "b", "a", "b", "c", "a"],
            "gt": ["x", "y", "x", "y", "x", "y"],
            "status": ["ok"] * 6,
            "pred": ["x", "a prediction longer than twelve", None, "y", "x", "y"],
            "first": [None, None, "x", None, "z", None],
        }
    )
    # every column in parts of its own: run in 1+5 rows, pred in 4+2 (and as two chunks of one
    # frame), the rest whole
    cols: dict[str, list[pl.DataFrame]] = {c: [df.select(c)] for c in COLS}
    cols["run"] = [df.select("run").slice(0, 1), df.select("run").slice(1)]
    two = pl.concat([df.select("pred").slice(0, 4), df.select("pred").slice(4)], rechunk=False)
    assert two.n_chunks() == 2
    cols["pred"] = [two]
    t = _core.Tally(first_or_pred=True)
    firsts = t.add([cols[c] for c in COLS])
    got = t.finish()
    assert firsts == [0, 2, 5]
    expect = df.with_columns(pl.coalesce("first", "pred").alias("first"))
    assert _same(_decoded(got), _by_polars(expect))
    # without a first column: the predictions with the flag, else no first labels
    for flag, first in ((True, pl.col("pred")), (False, pl.lit(None, pl.String))):
        t = _core.Tally(first_or_pred=flag)
        t.add([*_cols(df)[:5], None])
        expect = df.with_columns(first.alias("first"))
        assert _same(_decoded(t.finish()), _by_polars(expect))


def test_a_source_with_a_repeated_sample_is_named_and_the_rest_scored(tmp_path: Path) -> None:
    df = generated(seed=5, n=30, runs_per=2)
    again = df.filter(pl.col("run") == "dfew/gen-0").slice(3, 1)
    write_table(pl.concat([df, again]), tmp_path / "p.parquet")
    res = stream.score_sources(scan.scan([tmp_path / "p.parquet"]).sources, "paper")
    assert [str(e) for e in res.errors] == [
        "run(s) given more than once, or with duplicate samples: dfew/gen-0"
    ]
    want = {r["run"] for r in stream.score_frame(df, "paper").rows} - {"dfew/gen-0"}
    assert {r["run"] for r in res.rows} == want
    # split over two parts of one folder: still one table, still found
    parts = tmp_path / "parts"
    parts.mkdir()
    write_table(df, parts / "a.parquet")
    write_table(again, parts / "b.parquet")
    res = stream.score_sources(scan.scan([parts]).sources, "paper")
    assert "dfew/gen-0" in str(res.errors[0]) and len(res.rows) == len(want)


def _scored_with_a_null(tmp_path: Path, seed: int, column: str, row: int) -> tuple:
    """A generated table written to Parquet with `column` null at `row`, scored: (the path, the
    result)."""
    df = generated(seed=seed, n=10, runs_per=1)
    path = tmp_path / "p.parquet"
    null_at = pl.when(pl.int_range(pl.len()) == row).then(None).otherwise(pl.col(column))
    df.with_columns(null_at.alias(column)).write_parquet(path)
    return path, stream.score_sources(scan.scan([path]).sources, "paper")


def test_a_row_without_a_run_names_the_file(tmp_path: Path) -> None:
    path, res = _scored_with_a_null(tmp_path, 6, "run", 4)
    assert res.rows == []
    (err,) = res.errors
    assert isinstance(err, GerReplayError)
    assert str(err) == f"{path}: row 5 has no run name"


def test_the_source_tally_keeps_each_runs_first_row(tmp_path: Path) -> None:
    df = generated(seed=8, n=12, runs_per=2)
    # a run whose rows disagree on the model: the first row's is kept, as before
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()).over("run") == 0)
        .then(pl.lit("first-model"))
        .otherwise(pl.lit("other"))
        .alias("model")
    )
    path = tmp_path / "p.parquet"
    write_table(df, path)
    (src,) = scan.scan([path]).sources
    got = tally(src, need_first=True)
    assert (
        got.runs.get_column("run").to_list()
        == df.get_column("run").unique(maintain_order=True).to_list()
    )
    assert set(got.runs.get_column("model")) == {"first-model"}
    assert got.n.sum() == df.height


@pytest.mark.parametrize(
    "rows",
    [
        [0, 1, 2, 50],  # together: a few slices
        list(range(0, 20_000, 5000)),  # apart: one filtered pass
        list(range(0, 20_000, 7)),  # many: one filtered pass
        [19_999],
    ],
)
def test_rows_at_reads_the_rows_asked_either_way(rows: list[int]) -> None:
    df = pl.DataFrame({"i": range(20_000)}).with_columns(pl.format("v{}", pl.col("i")).alias("v"))
    got = rows_at(df.lazy(), rows, df.height)
    assert got.equals(df[rows])


def test_a_table_longer_than_a_chunk_is_read_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    df = generated(seed=9, n=40, runs_per=3)
    want = stream.score_frame(df, "paper").rows
    monkeypatch.setattr(tally_module, "CHUNK", 97)  # runs and batches cut anywhere
    got = stream.score_frame(df, "paper").rows
    assert got == want


@pytest.mark.parametrize("layout", ["one run after another", "runs interleaved"])
def test_run_columns_read_along_or_afterwards_give_the_same_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """Run columns are read with the counted ones while first rows keep coming, else at the
    first rows afterwards: either way, and mixed, the same runs in the same order."""
    df = generated(seed=11, n=60, runs_per=3)
    if layout == "runs interleaved":
        df = df.sort("sample_id", "run", maintain_order=True)
    df = df.with_columns(pl.col("model") + pl.col("run"))  # run columns that differ by run
    path = tmp_path / "p.parquet"
    write_table(df, path)
    want = stream.score_sources(scan.scan([path]).sources, "paper").rows
    assert want and all(r["model"].endswith(r["run"]) for r in want)
    along: list[bool] = []
    add = tally_module._Firsts.add

    def spy(self: tally_module._Firsts, batch: pl.DataFrame, at: int, rows: list[int]) -> None:
        along.append(RUN_PREFIX + "model" in batch.columns)
        add(self, batch, at, rows)

    monkeypatch.setattr(tally_module._Firsts, "add", spy)
    monkeypatch.setattr(tally_module, "DIRECT", False)  # polars reads the file
    monkeypatch.setattr(tally_module, "CHUNK", 50)
    monkeypatch.setattr(tally_module, "SPAN_GAP", 10)
    got = stream.score_sources(scan.scan([path]).sources, "paper").rows
    assert got == want and len(got) == df.get_column("run").n_unique()
    assert True in along and False in along
    # a stream (CSV) is read once, the run columns along
    csv = tmp_path / "p.csv"
    write_table(df, csv)
    got = stream.score_sources(scan.scan([csv]).sources, "paper").rows
    assert [r["run"] for r in got] == [r["run"] for r in want]
    assert [r["model"] for r in got] == [r["model"] for r in want]


def test_a_missing_status_is_an_unknown_status(tmp_path: Path) -> None:
    path, res = _scored_with_a_null(tmp_path, 10, "status", 3)
    assert res.rows == []
    assert [str(e) for e in res.errors] == [f"{path}: unknown status value(s) ['None']"]
