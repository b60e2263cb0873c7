"""Attack: hostile run folders, bundles and files beside a good run. Each becomes its own error
(exit 2, the file named) and the good run is still scored, exported, reported and verified."""

from __future__ import annotations

import csv
import errno
import io
import os
import shutil
import tempfile
from pathlib import Path

import make_inputs as mk
import polars as pl
import pytest
from click.testing import CliRunner
from recordkit import record_run

from ger_replay.cli import main
from ger_replay.io import bundle, verify
from ger_replay.io.neutral import FORMULA_START


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run, _, _ = record_run(tmp_path_factory.mktemp("good"), n=12, batch_size=4)
    return run


def _cli(*args: object) -> tuple[int, str]:
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


REPORTED = {"nested-cassette", "empty-label", "linked-labels"}


@pytest.mark.parametrize("kind", sorted(mk.BAD_RUNS))
def test_one_bad_run_never_stops_the_others(good: Path, tmp_path: Path, kind: str) -> None:
    bad = mk.BAD_RUNS[kind](good, tmp_path / kind)
    named = str(bad)
    code, out = _cli("score", good, bad, "--format", "csv")
    assert code == 2 and named in out
    rows = list(csv.reader(io.StringIO(out.split("\n\n")[0])))
    assert "run" in [r[0] for r in rows[1:]]  # the good run is scored
    code, out = _cli("export", good, bad, "-o", tmp_path / "x.csv")
    assert code == 2 and named in out
    assert pl.read_csv(tmp_path / "x.csv").height >= 12
    code, out = _cli("refusals", good, bad)
    assert code == 2 and named in out
    if kind in REPORTED:  # the report is slower: a few kinds stand for the rest
        code, out = _cli("report", good, bad, "-o", tmp_path / "report", "--no-ci")
        assert code == 2 and named in out
        assert (tmp_path / "report" / "index.html").is_file()
    code, out = _cli("compare", good, bad)
    assert code == 2 and named in out
    problems = verify.verify(bad)
    assert problems and all("Traceback" not in str(p) for p in problems)


@pytest.mark.parametrize(
    "kind", ["linked-labels", "linked-journal", "linked-run-json", "linked-cassette"]
)
def test_pack_refuses_links_and_verify_says_so(good: Path, tmp_path: Path, kind: str) -> None:
    bad = mk.BAD_RUNS[kind](good, tmp_path / kind)
    code, out = _cli("pack", bad, "-o", tmp_path / "b.tar.gz")
    assert code == 2 and ("symbolic link" in out or "not a regular file" in out)
    assert not (tmp_path / "b.tar.gz").exists()
    code, out = _cli("verify", bad)
    assert code == 1 and ("symbolic link" in out or "not a regular file" in out)


def test_nested_expect_and_diff_inputs_are_errors_naming_the_file(
    good: Path, tmp_path: Path
) -> None:
    nested = mk.nested_json(tmp_path / "nested.json")
    code, out = _cli("score", good, "--expect", nested)
    assert code == 2 and str(nested) in out
    code, out = _cli("diff", good, nested)
    assert code == 2 and str(nested) in out


def _entries(folder: Path) -> int:
    return sum(len(d) + len(f) for _, d, f in os.walk(folder))


def test_hostile_bundles_leave_nothing_in_the_temp_folder(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    packed = tmp_path / "good.tar.gz"
    bundle.pack([good], packed)
    deep = mk.deep_bundle(tmp_path / "deep.tar.gz")
    pax = mk.pax_bundle(packed, tmp_path / "pax.tar.gz")
    trailing = mk.trailing_bundle(packed, tmp_path / "trailing.tar.gz")
    for b in (deep, pax, trailing):
        problems = verify.verify(b)
        assert problems, b
        code, out = _cli("score", good, b)
        assert code == 2 and str(b) in out
    assert "levels deep" in str(verify.verify(deep)[0])
    assert "pax" in str(verify.verify(pax)[0])
    assert "after the archive's end" in str(verify.verify(trailing)[0])
    assert verify.verify(packed) == []
    assert _entries(tmp) == 0


def test_cleanup_survives_a_tree_deeper_than_python_recursion(tmp_path: Path) -> None:
    from ger_replay.io.tempdir import private_dir

    with private_dir("deep-") as root:
        fd = os.open(root, os.O_RDONLY)
        for _ in range(3000):  # deeper than recursion and PATH_MAX allow
            os.mkdir("d" * 50, dir_fd=fd)
            nfd = os.open("d" * 50, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        os.close(fd)
    assert not root.exists()


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _safe(cell: str) -> bool:
    if not cell.startswith(FORMULA_START):
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    names = mk.hostile_names(tmp_path / "names.parquet")
    code, out = _cli("score", names, "--format", "csv")
    assert code == 0, out
    cells = _cells(out)
    assert all(_safe(c) for c in cells) and '\'=HYPERLINK("http://x","y")' in cells
    _cli("export", names, "-o", tmp_path / "e.csv")
    cells = _cells((tmp_path / "e.csv").read_text())
    assert all(_safe(c) for c in cells) and "-3" in cells  # numbers stay numbers
    _cli("report", names, "-o", tmp_path / "r", "--no-ci")
    for f in (tmp_path / "r" / "tables").glob("*.csv"):
        assert all(_safe(c) for c in _cells(f.read_text())), f
    # read back, the names are the original ones
    back = pl.read_csv(tmp_path / "e.csv")
    from ger_replay.io import load as sources

    again = sources.read_predictions_file(tmp_path / "e.csv")
    assert set(again.get_column("sample_id")) == set(mk.FORMULAS) | {"-3", "plain"}
    assert back.height == again.height


def test_terminal_and_markdown_output_is_inert(tmp_path: Path) -> None:
    names = mk.hostile_names(tmp_path / "names.parquet")
    for fmt in ("table", "markdown", "csv"):
        code, out = _cli("score", names, "--format", fmt)
        assert code == 0
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    code, out = _cli("score", names, "--format", "markdown")
    assert "<script>" not in out and "&lt;script&gt;" in out and "\\|run" in out
    _cli("report", names, "-o", tmp_path / "r", "--no-ci")
    for f in (tmp_path / "r").rglob("*.md"):
        text = f.read_text()
        assert "<script>" not in text and "\x1b" not in text, f


def test_score_output_on_a_full_disk_keeps_the_old_file(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "scores.json"
    out.write_text("previous scores\n")

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    code, text = _cli("score", good, "--format", "json", "-o", out)
    monkeypatch.undo()
    assert code == 2 and "No space left on device" in text and str(out) in text
    assert out.read_text() == "previous scores\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.json"]
    # writes made through os.write that fail half way leave the old file too
    real = os.write
    state = {"n": 0}

    def half(fd: int, data: bytes) -> int:
        state["n"] += 1
        if state["n"] > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, bytes(data)[: max(1, len(data) // 2)])

    monkeypatch.setattr(os, "write", half)
    code, text = _cli("score", good, "--format", "json", "-o", out)
    monkeypatch.undo()
    assert code == 2 and out.read_text() == "previous scores\n"


def test_same_named_runs_are_told_apart_and_deep_runs_found(good: Path, tmp_path: Path) -> None:
    a = tmp_path / "a" / "sfew2" / "run"
    b = tmp_path / "b" / "sfew2" / "run"
    shutil.copytree(good, a)
    shutil.copytree(good, b)
    code, out = _cli("score", tmp_path / "a", tmp_path / "b", "--format", "csv")
    assert code == 2 and "told apart" in out
    runs = [r[0] for r in csv.reader(io.StringIO(out.split("\n\n")[0]))][1:]
    assert len(runs) == 2 and runs[0] != runs[1]  # both kept
    code, out = _cli("score", good, good, "--format", "csv")
    assert code == 2 and "counted once" in out
    assert len(out.split("\n\n")[0].strip().splitlines()) == 2  # header and one run
    deep = tmp_path / "deep" / "l1" / "l2" / "l3" / "l4"
    shutil.copytree(good, deep / "run")
    code, out = _cli("score", tmp_path / "deep", "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 2
