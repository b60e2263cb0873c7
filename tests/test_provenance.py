"""Provenance: every call's endpoint and model in the journal; a resume against another endpoint
or model refused unless allowed, and then every pair listed in run.json and replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from recordkit import FAKE_KEY, image_manifest

from ger_replay.cli import main
from ger_replay.io import journal, rundir
from ger_replay.protocol import datasets
from ger_replay.protocol.settings import RequestSettings
from ger_replay.record import recorder
from ger_replay.record.replay import replay
from ger_replay.record.simulator import serve

SFEW = datasets.get("sfew2")


def test_resume_elsewhere_is_refused_then_allowed_and_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 24)
    out = tmp_path / "run"
    with serve(manifest, SFEW, seed=5, error_rate=0.5) as a:
        opts = recorder.RecordOptions(
            "sfew2",
            manifest,
            out,
            RequestSettings(model="model-a"),
            base_url=a.url,
            batch_size=4,
            max_transient=0,
            backoff=0.01,
            progress=False,
        )
        first = recorder.record(opts)
    done_on_a = first.batches_done
    assert 0 < done_on_a < 6, "the seed must leave some batches for the resume"
    args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
    args += ["--batch-size", "4", "--max-tries", "3"]
    with serve(manifest, SFEW, seed=6) as b:
        refused = CliRunner().invoke(main, [*args, "--base-url", b.url, "--model", "model-b"])
        assert refused.exit_code == 2
        text = " ".join(refused.output.split())
        assert a.url in text and "'model-a'" in text and b.url in text and "'model-b'" in text
        assert b.stats.get("requests", 0) == 0
        # the same endpoint, another model: refused too
        other = CliRunner().invoke(main, [*args, "--base-url", a.url, "--model", "model-b"])
        assert other.exit_code == 2 and "cannot resume" in other.output
        ok = CliRunner().invoke(
            main, [*args, "--base-url", b.url, "--model", "model-b", "--allow-endpoint-change"]
        )
        assert ok.exit_code == 0, ok.output
        assert b.stats["requests"] >= 6 - done_on_a
    meta = rundir.read_meta(out)
    assert [(e["endpoint"], e["model"]) for e in meta["endpoints"]] == [
        (a.url, "model-a"),
        (b.url, "model-b"),
    ]
    assert meta["endpoint"] == b.url and meta["model"] == "model-b"
    calls = [
        e
        for e in journal.read(out / rundir.JOURNAL)
        if e["event"] == "call" and e.get("outcome") not in ("server_error",)
    ]
    pairs = {(e["endpoint"], e["model"]) for e in calls}
    assert pairs == {(a.url, "model-a"), (b.url, "model-b")}
    events = journal.read(out / rundir.JOURNAL)
    with_pair = [e for e in events if e["event"] in ("call", "open")]
    assert len(with_pair) > 6 and all(e["endpoint"] and e["model"] for e in with_pair)
    # every cassette request went where the journal says
    for p in (out / "cassettes").glob("*.json"):
        for it in json.loads(p.read_text())["interactions"]:
            assert json.loads(it["request"]["body"])["model"] in ("model-a", "model-b")
    from ger_replay.io import export

    row = export.collect([out]).table.row(0, named=True)
    assert [e["model"] for e in json.loads(row["endpoints"])] == ["model-a", "model-b"]
    # offline replay rebuilds each call with its own endpoint and model
    monkeypatch.delenv("OPENAI_API_KEY")
    got = replay(out, manifest)
    assert got.batches == 6 and got.answered + got.unanswered == 24
    # a later resume against the latest pair needs no flag
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    again = CliRunner().invoke(
        main, [*args, "--base-url", b.url, "--model", "model-b", "--no-preflight"]
    )
    assert again.exit_code == 0, again.output
