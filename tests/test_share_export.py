"""Score and export read bundles in place; export writes provenance in three formats."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from test_share_helpers import gunzip, make_run, regzip

from ger_replay.cli import main
from ger_replay.io import bundle, export, verify
from ger_replay.io import load as sources


@pytest.fixture
def packed(tmp_path: Path) -> tuple[list[Path], Path]:
    runs = [make_run(tmp_path / "runs", "run-a"), make_run(tmp_path / "runs", "run-b", repeat=1)]
    out = tmp_path / "b.tar.gz"
    bundle.pack(runs, out)
    return runs, out


def _rows(df: pl.DataFrame) -> list[tuple]:
    cols = ["run", "sample_id", "gt", "pred", "status", "attempts"]
    return sorted(df.select(cols).rows())


def test_bundle_scores_like_its_run_folders(packed: tuple[list[Path], Path]) -> None:
    runs, out = packed
    direct = sources.load(runs)
    via = sources.load([out])
    assert direct.errors == [] and via.errors == []
    assert _rows(via.table) == _rows(direct.table)
    assert via.table.height == 6
    assert set(via.table.get_column("bundle_sha256")) == {bundle.sha256_file(out)}
    cli = CliRunner()
    a = cli.invoke(main, ["score", str(out), "--format", "json"])
    b = cli.invoke(main, ["score", *map(str, runs), "--format", "json"])
    assert a.exit_code == 0 and json.loads(a.output) == json.loads(b.output)


def test_altered_bundle_is_not_scored(packed: tuple[list[Path], Path]) -> None:
    _runs, out = packed
    raw = bytearray(gunzip(out))
    raw[raw.index(b"s1,Happy") + 3] = ord("S")  # "s1,Sappy"
    regzip(bytes(raw), out)
    got = sources.load([out])
    assert got.table.height == 0
    assert any("runs/run-a/labels.csv: altered" in str(e) for e in got.errors)
    r = CliRunner().invoke(main, ["score", str(out)])
    assert r.exit_code == 2 and "labels.csv: altered" in r.output


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_export_formats_with_provenance(
    packed: tuple[list[Path], Path], tmp_path: Path, suffix: str
) -> None:
    runs, out = packed
    dest = tmp_path / f"t{suffix}"
    r = CliRunner().invoke(main, ["export", str(out), "-o", str(dest)])
    assert r.exit_code == 0, r.output
    if suffix == ".parquet":
        df = pl.read_parquet(dest)
    elif suffix == ".csv":
        df = pl.read_csv(dest, infer_schema=False)
    else:
        df = pl.read_ndjson(dest)
    assert df.height == 6
    for col in export.PROVENANCE:
        assert col in df.columns
    row = df.filter(pl.col("run") == "run-b").row(0, named=True)
    assert row["bundle_sha256"] == bundle.sha256_file(out)
    assert row["bundle"] == out.name
    assert row["endpoint"] == "http://127.0.0.1:8000/v1"
    assert str(row["batch_size"]) == "2" and str(row["repeat"]) == "1"
    assert row["recorded_with"] == "0.1.0"
    assert str(row["exported_with"]).startswith("ger-replay ")
    if suffix != ".jsonl":  # the predictions-file source reads Parquet and CSV
        assert _rows(sources.load([dest]).table) == _rows(sources.load(runs).table)


def test_export_run_folders_and_folder_of_runs(
    packed: tuple[list[Path], Path], tmp_path: Path
) -> None:
    runs, _out = packed
    got = export.collect([runs[0].parent])
    assert got.errors == []
    assert sorted(set(got.table.get_column("run"))) == ["run-a", "run-b"]
    assert got.table.get_column("bundle").null_count() == got.table.height
    assert set(got.table.get_column("created")) == {"2026-11-20T10:31:02Z"}


def test_export_errors(packed: tuple[list[Path], Path], tmp_path: Path) -> None:
    runs, out = packed
    cli = CliRunner()
    r = cli.invoke(main, ["export", str(out), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 2 and "t.xlsx" in r.output
    r = cli.invoke(main, ["export", str(out), str(runs[0]), "-o", str(tmp_path / "t.csv")])
    assert r.exit_code == 2 and "run-a" in r.output and "more than once" in r.output
    r = cli.invoke(main, ["export", str(tmp_path / "missing"), "-o", str(tmp_path / "u.csv")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_errors_inside_a_bundle_name_the_member(tmp_path: Path) -> None:
    run = make_run(tmp_path, "run-a")
    (run / "labels.csv").write_text("sample_id,gt\ns1,Happy\ns1,Sad\n")
    out = tmp_path / "b.tar.gz"
    bundle.pack([run], out)
    got = sources.load([out])
    text = "\n".join(map(str, got.errors))
    assert f"{out}:runs/run-a" in text
    assert "ger-replay-bundle-" not in text  # never the private temporary folder


def test_demo_runs_pack_verify_and_score_alike(repo_root: Path, tmp_path: Path) -> None:
    """The recorded demo runs of cassettes/ (real vcrpy cassettes) round-trip through a bundle."""
    runs = sorted(p.parent for p in (repo_root / "cassettes").glob("*/run.json"))
    assert runs, "no demo runs under cassettes/"
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    bundle.pack(runs, a)
    bundle.pack(runs, b)
    assert a.read_bytes() == b.read_bytes()
    assert verify.verify(a) == []
    assert _rows(sources.load([a]).table) == _rows(sources.load(runs).table)
