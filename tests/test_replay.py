"""Replay: the whole pipeline against the cassettes, network blocked, failing on the first
request without a recording; and scoring a run folder from its raw answers."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from mediagen import write_image
from recordkit import record_run

from ger_replay.cli import main
from ger_replay.io import load as sources
from ger_replay.record import replay as replay_mod


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("replay")
    run_dir, manifest, _ = record_run(
        folder, n=30, batch_size=6, refuse_rate=0.4, drop_rate=0.3, invent_rate=0.2
    )
    return run_dir, manifest


def test_replay_passes_offline_without_a_key(
    run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, manifest = run
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    got = replay_mod.replay(run_dir, manifest)
    n_inter = sum(
        len(json.loads(p.read_text())["interactions"]) for p in (run_dir / "cassettes").iterdir()
    )
    assert got.batches == 5 and got.calls == n_inter
    assert got.calls > 5  # the faults made the strategy repeat or split
    assert got.answered + got.unanswered == 30
    res = CliRunner().invoke(main, ["replay", str(run_dir), "--manifest", str(manifest)])
    assert res.exit_code == 0, res.output
    assert "every request had its recording" in res.output


def test_network_is_blocked_during_replay() -> None:
    with replay_mod.network_blocked(), pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9))
    s = socket.socket()
    s.close()  # restored afterwards


def test_replay_names_the_first_request_without_a_recording(
    run: tuple[Path, Path], tmp_path: Path
) -> None:
    run_dir, manifest = run
    copy = tmp_path / "copy"
    shutil.copytree(manifest.parent, copy)
    order = json.loads((run_dir / "run.json").read_text())["sample_order"]
    victim = order[8]  # in the second batch
    write_image(copy / "media" / f"{victim}.png", seed=99999, width=48, height=48)
    res = CliRunner().invoke(
        main, ["replay", str(copy / "run"), "--manifest", str(copy / "manifest.csv")]
    )
    assert res.exit_code == 1
    assert "no recording for the request of batch b00001" in res.output
    assert victim in res.output


def test_replay_refuses_a_manifest_missing_samples(run: tuple[Path, Path], tmp_path: Path) -> None:
    run_dir, manifest = run
    lines = manifest.read_text().splitlines()
    short = manifest.parent / "short.csv"
    short.write_text("\n".join(lines[:-2]) + "\n")
    res = CliRunner().invoke(main, ["replay", str(run_dir), "--manifest", str(short)])
    assert res.exit_code == 2
    assert "not in the manifest" in res.output


def test_score_reads_the_run_folder(run: tuple[Path, Path]) -> None:
    run_dir, _ = run
    loaded = sources.load([run_dir])
    assert loaded.errors == []
    df = loaded.table
    assert df.height == 30 and set(df["source"]) == {"cassettes"}
    assert df["attempts"].min() >= 1
    ok = df.filter(df["status"] == "ok")
    assert ok.height > 0 and ok["pred"].null_count() == 0
    not_ok = df.filter(df["status"] != "ok")
    assert not_ok["reason"].null_count() == 0
    # the same answer as the strategy's decisions at record time
    events = [json.loads(x) for x in (run_dir / "journal.jsonl").read_text().splitlines()]
    unanswered = {s for e in events if e["event"] == "batch_done" for s in e["unanswered"]}
    assert set(df.filter(~df["status"].is_in(["ok", "no_candidate"]))["sample_id"]) == unanswered
    res = CliRunner().invoke(main, ["score", str(run_dir), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows[0]["dataset"] == "sfew2" and rows[0]["n_total"] == 30
