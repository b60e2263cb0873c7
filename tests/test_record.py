"""`ger-replay record` against the loopback simulator: the command, the plan, the lock, resume
checks, rate limits (429 + Retry-After) and transient faults, and the committed demo runs."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from recordkit import FAKE_KEY, image_manifest, record_run

from ger_replay.cli import main
from ger_replay.errors import GerReplayError
from ger_replay.io import journal, rundir
from ger_replay.io import load as sources
from ger_replay.protocol import datasets
from ger_replay.protocol.settings import RequestSettings
from ger_replay.record import recorder
from ger_replay.record.simulator import serve


def test_record_and_score_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 12, "twitter2")
    out = tmp_path / "run"
    with serve(manifest, datasets.get("twitter2"), seed=2) as sim:
        base = ["record", "--dataset", "twitter2", "--manifest", str(manifest), "--out", str(out)]
        opts = ["--base-url", sim.url, "--model", "m", "--batch-size", "5", "--color", "gray"]
        dry = CliRunner().invoke(main, [*base, *opts, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "batches:           3 to record of 3" in dry.output
        assert "samples:           12 in batches of up to 5" in dry.output
        assert "requests:          3 if every answer qualifies" in dry.output
        assert f"model:             m at {sim.url}" in dry.output
        assert not out.exists()  # a dry run writes nothing
        res = CliRunner().invoke(main, [*base, *opts])
        assert res.exit_code == 0, res.output
        assert "batches: 3/3 finished" in res.output
        resumed = CliRunner().invoke(main, [*base, *opts, "--dry-run"])  # finished batches out
        assert "batches:           0 to record of 3 (3 already finished)" in resumed.output
        assert "requests:          0 if every answer qualifies, at most 0" in resumed.output
        assert "tokens (estimate): 0 prompt + 0 completion" in resumed.output
        again = CliRunner().invoke(main, [*base, *opts])  # nothing left: no request
        assert again.exit_code == 0 and "calls: 0 made" in again.output
        assert sim.stats["answered"] == 3
    meta = rundir.read_meta(out)
    assert meta["color"] == "gray" and meta["batch_size"] == 5 and meta["endpoint"] == sim.url
    assert sorted(meta["sample_order"]) == [f"s{i:04d}" for i in range(12)]
    res = CliRunner().invoke(main, ["score", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["n_total"] == 12


def test_key_comes_from_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    manifest = image_manifest(tmp_path, 2)
    res = CliRunner().invoke(
        main,
        [
            "record",
            "--dataset",
            "sfew2",
            "--manifest",
            str(manifest),
            "--out",
            str(tmp_path / "r"),
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
    )
    assert res.exit_code == 2 and "OPENAI_API_KEY" in res.output


def test_bad_manifest_is_refused_before_any_call(tmp_path: Path) -> None:
    bad = tmp_path / "m.csv"
    bad.write_text("sample_id,gt,image\na,Happy,missing.png\nb,Sad,gone.png\n")
    res = CliRunner().invoke(
        main,
        [
            "record",
            "--dataset",
            "sfew2",
            "--manifest",
            str(bad),
            "--out",
            str(tmp_path / "r"),
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
    )
    assert res.exit_code == 2
    assert "missing.png" in res.output and "gone.png" in res.output
    assert not (tmp_path / "r").exists()


def test_a_second_process_is_refused_and_settings_must_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, manifest, _ = record_run(tmp_path, n=6, batch_size=3)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    opts = recorder.RecordOptions(
        "sfew2",
        manifest,
        run,
        RequestSettings(model="simulated-model"),
        base_url=rundir.read_meta(run)["endpoint"],
        batch_size=3,
        progress=False,
    )
    with rundir.locked(run), pytest.raises(rundir.LockedError, match="another process"):
        recorder.record(opts)
    other = recorder.RecordOptions(
        "sfew2",
        manifest,
        run,
        RequestSettings(model="other-model", color="gray"),
        base_url=rundir.read_meta(run)["endpoint"],
        batch_size=3,
        progress=False,
        allow_endpoint_change=True,
    )
    with pytest.raises(GerReplayError, match="color: recorded 'rgb', asked 'gray'"):
        recorder.record(other)
    with pytest.raises(GerReplayError, match=r"with model 'simulated-model'.*model 'other-model'"):
        recorder.record(replace(other, allow_endpoint_change=False))


def test_transient_faults_are_retried_and_kept_out_of_cassettes(tmp_path: Path) -> None:
    run, _, stats = record_run(tmp_path, n=16, batch_size=4, error_rate=0.3, cut_rate=0.15)
    events = journal.read(run / "journal.jsonl")
    transient = [e for e in events if e.get("outcome") in ("server_error", "connection")]
    assert transient and all(e["interaction"] is None for e in transient)
    assert stats.get("error", 0) + stats.get("cut", 0) == len(transient)
    for p in (run / "cassettes").iterdir():
        for it in json.loads(p.read_text())["interactions"]:
            assert it["response"]["status"]["code"] == 200
    assert sources.load([run]).table.height == 16


def test_rate_limited_endpoint_keeps_its_rate_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scaled-down form of the benchmark: 600 requests a minute for a few seconds."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 60)
    limit = 600.0
    with serve(manifest, datasets.get("sfew2"), rpm_limit=limit) as sim:
        opts = recorder.RecordOptions(
            "sfew2",
            manifest,
            tmp_path / "run",
            RequestSettings(model="m"),
            base_url=sim.url,
            batch_size=1,
            concurrency=4,
            progress=False,
        )
        t0 = time.monotonic()
        summary = recorder.record(opts)
        elapsed = time.monotonic() - t0
        stats = sim.stats
    assert summary.complete and summary.stats.unanswered == 0
    assert stats["rate_limited"] > 0  # the limit was met
    rate = stats["answered"] / elapsed * 60
    # The bucket starts full (a burst of 10) so the first second runs above the limit.
    assert rate >= 0.9 * limit, (rate, stats)


def test_demo_runs_are_labelled_synthetic_and_score(repo_root: Path) -> None:
    demo = repo_root / "cassettes"
    runs = sorted(p for p in demo.iterdir() if rundir.is_run_dir(p))
    assert len(runs) == 3
    assert "SYNTHETIC" in (demo / "README.md").read_text()
    tasks = set()
    for r in runs:
        meta = rundir.read_meta(r)
        assert meta["synthetic"] is True and "SYNTHETIC" in meta["note"]
        tasks.add(meta["task"])
    assert tasks == {"facial_emotion", "dynamic_facial", "multimodal"}
    loaded = sources.load([demo])
    assert loaded.errors == [] and loaded.table.height == 40 + 24 + 18
