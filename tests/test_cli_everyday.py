"""Everyday use of the command line, as a new user meets it: every option explained, one output
option and one set of formats, Ctrl-C and SIGTERM, a busy port, honest output (synthetic and
partial runs flagged, no float noise, normal file modes) and the smaller points of issue 17."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import click
import polars as pl
import pytest
from click.testing import CliRunner
from recordkit import image_manifest

from ger_replay.cli import main

BASE_FORMATS = {"table", "markdown", "csv", "json"}
JARGON = re.compile(r"T_max|Repeat index|\bI\b\.", re.I)


def commands() -> list[tuple[str, click.Command]]:
    assert isinstance(main, click.Group)
    return sorted(main.commands.items())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ger_replay.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def demo(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the demo runs (synthetic, recorded against the simulator)."""
    out = tmp_path / "demo"
    shutil.copytree(repo_root / "cassettes", out)
    return out


def test_every_option_of_every_command_is_explained() -> None:
    missing, jargon = [], []
    for name, cmd in commands():
        assert (cmd.help or "").strip(), f"{name} has no help"
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden:
                text = (p.help or "").strip()
                if not text:
                    missing.append(f"{name} {'/'.join(p.opts)}")
                if JARGON.search(text):
                    jargon.append(f"{name} {'/'.join(p.opts)}: {text}")
    assert not missing, "options without help: " + ", ".join(missing)
    assert not jargon, jargon
    res = CliRunner().invoke(main, ["record", "--help"])
    assert "T_max" not in res.output and "Repeat index" not in res.output


def test_one_output_option_and_one_set_of_formats() -> None:
    for name, cmd in commands():
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden:
                continue
            if p.name in ("output", "out"):
                assert p.opts == ["-o", "--output"], (name, p.opts)
            if "--format" in p.opts:
                assert isinstance(p.type, click.Choice)
                got = set(p.type.choices)
                assert BASE_FORMATS <= got <= BASE_FORMATS | {"latex"}, (name, got)
                assert p.default == "table", name


def test_record_still_takes_the_old_out_spelling(tmp_path: Path) -> None:
    manifest = image_manifest(tmp_path, 4)
    args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--dry-run"]
    new = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "run")])
    old = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "run")])
    assert new.exit_code == old.exit_code == 0, (new.output, old.output)
    assert "deprecated" in old.stderr and "batches:" in old.stdout
    assert not re.search(r"--out\b", CliRunner().invoke(main, ["record", "--help"]).output)


def test_ctrl_c_in_any_command_exits_130_with_one_line(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ger_replay.io.load as load_mod

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(load_mod, "load", interrupted)
    for args in (["score", str(demo)], ["report", str(demo), "-o", str(demo / "r")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 130, res.output
        assert "Aborted!" not in res.output
        assert "stopped by Ctrl-C" in res.stderr
    assert not (demo / "r").exists()


def test_ctrl_c_in_record_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ger_replay.record import recorder

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(recorder, "record", interrupted)
    manifest = image_manifest(tmp_path, 2)
    args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "-o", str(tmp_path / "r")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 130 and "Aborted!" not in res.output
    assert "run the same command again to resume" in res.stderr


def _wait_reading_stdin(proc: subprocess.Popen[str]) -> None:
    """Until the process blocks reading its stdin (so its signal handlers are in place)."""
    syscall = Path(f"/proc/{proc.pid}/syscall")
    for _ in range(1200):  # a bound, not a timing: at worst the signal comes during start-up
        if proc.poll() is not None:
            return
        try:
            words = syscall.read_text().split()
        except OSError:
            words = []
        if words[:2] == ["0", "0x0"]:  # read(0, ...)
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.05)


@pytest.mark.parametrize(("sig", "word"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_a_real_signal_exits_130(sig: signal.Signals, word: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ger_replay.cli", "parse", "-", "--items", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_reading_stdin(proc)
    proc.send_signal(sig)
    # stdin stays open until the process ends: closed first, a read could see the end of the
    # input before the signal on a loaded machine
    proc.wait(timeout=60)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"stopped by {word}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_simulate_on_a_busy_port_is_one_clean_line(tmp_path: Path) -> None:
    manifest = image_manifest(tmp_path, 2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run(
            "simulate", "--manifest", str(manifest), "--dataset", "sfew2", "--port", str(port)
        )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], res.stderr


def test_demo_scores_say_synthetic_everywhere(demo: Path) -> None:
    table = CliRunner().invoke(main, ["score", str(demo)])
    assert table.exit_code == 0
    rows = [ln for ln in table.stdout.splitlines() if ln.startswith(("sfew2", "dfew", "mer"))]
    assert len(rows) == 3 and all("SYNTHETIC" in ln for ln in rows)
    for fmt in ("markdown", "latex"):
        assert "SYNTHETIC" in CliRunner().invoke(main, ["score", str(demo), "--format", fmt]).stdout
    data = json.loads(CliRunner().invoke(main, ["score", str(demo), "--format", "json"]).stdout)
    assert all(d["synthetic"] is True and d["partial"] is False for d in data)


def test_json_has_no_float_noise_and_csv_keeps_the_setting(demo: Path) -> None:
    text = CliRunner().invoke(main, ["score", str(demo), "--format", "json"]).stdout
    assert not re.search(r"\d\.\d{11,}", text), "floats beyond 10 decimals"
    assert "16.6666666667" in text  # the majority baseline of dfew, rounded not cut
    csv = CliRunner().invoke(main, ["score", str(demo), "--format", "csv"]).stdout
    df = pl.read_csv(csv.encode())
    assert {"model", "template", "frames", "color", "modality", "synthetic"} <= set(df.columns)
    assert set(df.get_column("model")) == {"simulator"}
    # --expect against the rounded JSON still passes at its default tolerance
    expect = demo / "scores.json"
    expect.write_text(text)
    assert CliRunner().invoke(main, ["score", str(demo), "--expect", str(expect)]).exit_code == 0


def test_written_files_follow_the_umask(demo: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        r = CliRunner()
        assert r.invoke(main, ["score", str(demo), "-o", str(out / "s.md")]).exit_code == 0
        assert r.invoke(main, ["export", str(demo), "-o", str(out / "p.csv")]).exit_code == 0
        assert (
            r.invoke(
                main, ["pack", str(demo / "sfew2-demo"), "-o", str(out / "b.tar.gz")]
            ).exit_code
            == 0
        )
        rep = r.invoke(
            main, ["report", str(demo / "sfew2-demo"), "-o", str(out / "rep"), "--no-ci"]
        )
        assert rep.exit_code == 0, rep.output
    finally:
        os.umask(old)
    files = [out / "s.md", out / "p.csv", out / "b.tar.gz", out / "rep" / "index.html"]
    files += [out / "rep" / "runs" / "sfew2_demo.html", out / "rep" / "tables" / "scores.csv"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    assert stat.S_IMODE((out / "rep").stat().st_mode) == 0o755


def test_refusals_table_is_readable(demo: Path) -> None:
    res = CliRunner().invoke(main, ["refusals", str(demo)])
    assert res.exit_code == 0
    head = res.stdout.splitlines()[1]
    for col in ("n_samples", "count_mismatch", "unparseable", "no_candidate", "mean_attempts"):
        assert col in head.split(), head
    assert "mer_multi-demo" in res.stdout and "│" not in res.stdout and "…" not in res.stdout


def test_unknown_run_names_list_the_valid_ones(demo: Path) -> None:
    res = CliRunner().invoke(main, ["confusion", str(demo), "--run", "nope"])
    assert res.exit_code == 2
    assert "nope" in res.stderr and "sfew2-demo" in res.stderr and "dfew-demo" in res.stderr


def test_labels_errors_name_the_line(demo: Path, tmp_path: Path) -> None:
    run_dir = demo / "sfew2-demo"
    labels = (run_dir / "labels.csv").read_text().splitlines()
    (run_dir / "labels.csv").unlink()
    labels[4] = labels[4].rsplit(",", 1)[0] + ",Joyful"
    given = tmp_path / "truth.csv"
    given.write_text("\n".join(labels) + "\n")
    res = CliRunner().invoke(main, ["score", str(run_dir), "--labels", str(given)])
    assert res.exit_code == 2
    assert f"{given}:5:" in res.stderr and "Joyful" in res.stderr
    broken = tmp_path / "broken.csv"
    broken.write_text('sample_id,gt\n"sfew2_001,Happy\n')
    res = CliRunner().invoke(main, ["score", str(run_dir), "--labels", str(broken)])
    assert res.exit_code == 2 and f"{broken}:2:" in res.stderr


def test_import_with_an_unknown_folder_writes_nothing(tmp_path: Path) -> None:
    from test_import_score import write

    root = tmp_path / "results"
    write(root / "sfew2" / "label.csv", [("a1.jpg", "Angry", "")])
    write(root / "sfew2" / "label-gpt4v.csv", [("a1", "Angry", "Angry")])
    write(root / "mystery" / "label.csv", [("x.jpg", "Happy", "")])
    write(root / "mystery" / "label-gpt4v.csv", [("x", "Happy", "Happy")])
    out = tmp_path / "p.parquet"
    res = CliRunner().invoke(main, ["import", "gpt4v-emotion", str(root), "-o", str(out)])
    assert res.exit_code == 2
    assert "mystery" in res.stderr and "nothing written" in res.stderr
    assert not out.exists() and list(tmp_path.glob(".p.parquet*")) == []


def test_python_api_score_table_and_version(repo_root: Path) -> None:
    import ger_replay

    assert isinstance(ger_replay.version, str) and ger_replay.version == ger_replay.__version__
    df = ger_replay.score_table(ger_replay.load([repo_root / "cassettes"]).table)
    assert isinstance(df, pl.DataFrame)
    assert set(df.get_column("run")) == {"sfew2-demo", "dfew-demo", "mer_multi-demo"}
    assert df.get_column("synthetic").all()


def test_a_recorded_run_has_the_usual_file_modes(tmp_path: Path) -> None:
    from recordkit import record_run

    old = os.umask(0o022)
    try:
        run_dir, _, _ = record_run(tmp_path, n=6, batch_size=3)
    finally:
        os.umask(old)
    for name in ("run.json", "labels.csv", "journal.jsonl", "cassettes/b00000.json"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) == 0o644, name


def test_help_lists_the_commands_in_workflow_order() -> None:
    from ger_replay.cli.app import COMMANDS

    text = CliRunner().invoke(main, ["--help"]).output
    listed = re.findall(r"^  (\w+)  ", text.split("Commands:")[1], re.M)
    assert listed == [c.name for c in COMMANDS]
    assert listed[:2] == ["score", "datasets"]
