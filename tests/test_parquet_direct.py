"""Parquet files read by the core (`ger_replay.io.parquet_groups`, `tally._read_direct`)
against polars reading the same files: the same tally, the same scores, the same errors; the
files it does not read go to polars; malformed or hostile files are errors naming the file."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_score_stream import generated

from ger_replay.cli import main
from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import scan
from ger_replay.io.parquet_groups import ParquetGroups
from ger_replay.score import stream
from ger_replay.score import tally as tally_module
from ger_replay.score.tally import Tallied, tally


def _both(path: Path, need_first: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The tally of a file (or folder) read by the core, then by polars (or the errors)."""
    out = []
    for direct in (True, False):
        monkeypatch.setattr(tally_module, "DIRECT", direct)
        (src,) = scan.scan([path]).sources
        try:
            out.append(tally(src, need_first))
        except GerReplayError as e:
            out.append(str(e))
    return out[0], out[1]


def _same_tally(a: Tallied | str, b: Tallied | str) -> None:
    assert type(a) is type(b), (a, b)
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert a.runs.equals(b.runs, null_equal=True)
    assert a.values == b.values
    for f in ("sets", "run", "set", "n"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.duplicated == b.duplicated


def _read_by_core(path: Path, need_first: bool, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the core reads the file (polars' reading patched to fail)."""
    monkeypatch.setattr(tally_module, "DIRECT", True)

    def refuse(*_: Any) -> None:
        raise AssertionError("read by polars")

    monkeypatch.setattr(tally_module, "_read", refuse)
    (src,) = scan.scan([path]).sources
    try:
        tally(src, need_first)
    except AssertionError:
        return False
    finally:
        monkeypatch.undo()
    return True


COMPRESSIONS = ["zstd", "snappy", "lz4", "gzip", "uncompressed", "brotli"]

# Short and long strings (12 bytes is the widest kept inline), empty ones, non-ASCII, NUL.
text = st.one_of(
    st.sampled_from(["", "a", "a\0", "Happy", "abcdefghijkl", "abcdefghijklm", "ünïcødé ✓"]),
    st.text(min_size=0, max_size=20),
)
maybe = st.one_of(st.none(), text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["r1", "a run name over 12 bytes", "r3"]), text, maybe, maybe),
        min_size=1,
        max_size=80,
    ),
    repeat=st.booleans(),
    group=st.integers(1, 50),
    compression=st.sampled_from(COMPRESSIONS),
    need_first=st.booleans(),
)
def test_any_values_tally_as_polars_reads_them(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: list,
    repeat: bool,
    group: int,
    compression: str,
    need_first: bool,
) -> None:
    n = len(rows)
    ids = [f"s{i}" for i in range(n)]
    if repeat:
        ids[-1] = ids[0]  # a run may hold a sample twice
    df = pl.DataFrame(
        {
            "run": [r[0] for r in rows],
            "dataset": "dfew",
            "sample_id": ids,
            "gt": [r[1] for r in rows],
            "status": "ok",
            "pred": [r[2] for r in rows],
            "first": [r[3] for r in rows],
            "model": [f"m-{r[0]}" for r in rows],
            "frames": pl.Series([len(r[1]) for r in rows], dtype=pl.Int64),
        }
    )
    path = tmp_path_factory.mktemp("p") / "p.parquet"
    df.write_parquet(path, row_group_size=group, compression=compression)  # type: ignore[arg-type]
    a, b = _both(path, need_first, monkeypatch)
    _same_tally(a, b)
    assert not isinstance(a, str)
    assert int(a.n.sum()) == n


@pytest.mark.parametrize("rules", ["paper", "strict", "lenient"])
@pytest.mark.parametrize("layout", ["one run after another", "runs interleaved", "parts"])
def test_generated_runs_score_the_same_read_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str, layout: str
) -> None:
    df = generated(seed=21, n=60, runs_per=2)
    if layout == "runs interleaved":
        df = df.sort("sample_id", "run", maintain_order=True)
    df = df.with_columns(pl.col("model") + pl.col("run"), synthetic=pl.lit(True))
    if layout == "parts":
        path = tmp_path / "parts"
        path.mkdir()
        for i, part in enumerate(df.iter_slices(n_rows=333)):
            part.write_parquet(path / f"part-{i:03d}.parquet", row_group_size=100)
    else:
        path = tmp_path / "p.parquet"
        df.write_parquet(path, row_group_size=77)
    got = {}
    for direct in (True, False):
        monkeypatch.setattr(tally_module, "DIRECT", direct)
        res = stream.score_sources(scan.scan([path]).sources, rules)
        got[direct] = (res.rows, [str(e) for e in res.errors], res.confusion)
    assert got[True][0] == got[False][0]
    assert got[True][1] == got[False][1] == []
    assert got[True][2].keys() == got[False][2].keys()
    for k, cm in got[True][2].items():
        assert np.array_equal(cm, got[False][2][k])
    assert all(r["model"].endswith(r["run"]) and r["synthetic"] for r in got[True][0])
    need_first = rules == "paper"
    files = [path] if path.is_file() else sorted(path.iterdir())
    assert all(_read_by_core(f, need_first, monkeypatch) for f in files)


def test_files_the_core_does_not_read_go_to_polars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = generated(seed=4, n=20, runs_per=1)
    cases = {
        # a counted column that is not strings
        "int_status": df.with_columns(pl.lit(1).alias("gt")),
        # no first label: polars derives it from the ranking
        "no_first": df.drop("first"),
        # a run column of a type the core does not give
        "date_model": df.with_columns(pl.lit("2024-01-01").str.to_date().alias("model")),
    }
    for name, frame in cases.items():
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path)
        assert not _read_by_core(path, True, monkeypatch), name
        a, b = _both(path, True, monkeypatch)
        _same_tally(a, b)
    # without the first label, a rule set that does not read it is read by the core
    assert _read_by_core(tmp_path / "no_first.parquet", False, monkeypatch)


def test_rows_without_a_run_or_sample_are_the_same_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = generated(seed=6, n=30, runs_per=1)
    for column in ("run", "sample_id"):
        null_at = pl.when(pl.int_range(pl.len()) == 77).then(None).otherwise(pl.col(column))
        path = tmp_path / f"{column}.parquet"
        df.with_columns(null_at.alias(column)).write_parquet(path, row_group_size=50)
        a, b = _both(path, True, monkeypatch)
        name = "run name" if column == "run" else "sample id"
        assert a == b == f"{path}: row 78 has no {name}"


def _valid(tmp_path: Path) -> bytes:
    df = generated(seed=2, n=15, runs_per=1)
    path = tmp_path / "ok.parquet"
    df.write_parquet(path, row_group_size=40)
    return path.read_bytes()


def test_malformed_files_are_errors_naming_the_file(tmp_path: Path) -> None:
    good = _valid(tmp_path)
    n = int.from_bytes(good[-8:-4], "little")
    cases = {
        "truncated": good[: len(good) // 2],
        "no magic": good[:-4] + b"XXXX",
        "a footer longer than the file": good[:-8] + (10**9).to_bytes(4, "little") + b"PAR1",
        "data pages zeroed": good[:4] + bytes(len(good) - n - 12) + good[-n - 8 :],
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.parquet"
        path.write_bytes(data)
        res = CliRunner().invoke(main, ["score", str(path)])
        assert res.exit_code == 2, (name, res.output)
        assert str(path) in res.output, (name, res.output)
        assert "Traceback" not in res.output and "panicked" not in res.output, name


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_corrupted_bytes_are_scored_or_refused_never_a_crash(seed: int, flips: int) -> None:
    """Bytes of a valid file flipped at random: scored (the values the reader finds), or an
    error naming the file; nothing escapes, neither the core's errors nor polars' panics."""
    base = _BASE.read_bytes()
    rng = random.Random(seed)
    data = bytearray(base)
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path = _BASE.parent / f"fuzz-{seed}-{flips}.parquet"
    path.write_bytes(bytes(data))
    try:
        got = scan.scan([path])
        res = stream.score_sources(got.sources, "paper")
        for e in got.errors:
            assert str(path) in str(e), e
        for e in res.errors:  # the file named, or runs (a value changed: a label, an id)
            assert isinstance(e, GerReplayError), e
            assert str(path) in str(e) or str(e).startswith("run"), e
    finally:
        path.unlink()


_BASE = Path(os.environ.get("TMPDIR", "/tmp")) / f"ger-replay-fuzz-base-{os.getpid()}.parquet"


@pytest.fixture(autouse=True, scope="module")
def _fuzz_base() -> Any:
    generated(seed=12, n=12, runs_per=1).write_parquet(_BASE, row_group_size=64)
    yield
    _BASE.unlink(missing_ok=True)


def test_links_and_other_files_are_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.parquet"
    real.write_bytes(_valid(tmp_path))
    link = tmp_path / "link.parquet"
    link.symlink_to(real)
    with pytest.raises(InputError, match="cannot read"):
        ParquetGroups(link)
    with pytest.raises(InputError, match="not a regular file"):
        ParquetGroups(tmp_path)
    with ParquetGroups(real) as groups:
        assert sum(groups.rows) == pl.read_parquet(real).height
        assert {"run", "sample_id", "gt", "status", "pred", "first"} <= groups.strings
        with pytest.raises(InputError, match="row group 99"):
            groups.group(99, ["run"])
