"""`record --limit N`: a seeded, class-stratified, nested subset; the run says it is one; a later
run without --limit in the same folder adds the rest without asking any sample twice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from recordkit import FAKE_KEY, image_manifest

from ger_replay.cli import main
from ger_replay.io import journal, rundir
from ger_replay.protocol import datasets
from ger_replay.protocol.settings import Sample
from ger_replay.record import cassettes, subset
from ger_replay.record.manifest import load_manifest
from ger_replay.record.replay import replay
from ger_replay.record.simulator import serve

SFEW = datasets.get("sfew2")


def _samples(counts: dict[str, int]) -> list[Sample]:
    out = []
    for label, n in counts.items():
        out += [Sample(f"{label[:3]}{i:03d}", label) for i in range(n)]
    return out


def test_same_n_same_subset_nested_and_stratified() -> None:
    samples = _samples({"Happy": 60, "Sad": 30, "Angry": 6, "Fear": 3, "Neutral": 1})
    a = [s.sample_id for s in subset.select(samples, SFEW, 20, seed=0)]
    assert a == [s.sample_id for s in subset.select(list(reversed(samples)), SFEW, 20, seed=0)]
    assert len(set(a)) == 20
    assert a != [s.sample_id for s in subset.select(samples, SFEW, 20, seed=1)]
    by = Counter(s.gt for s in subset.select(samples, SFEW, 20, seed=0))
    assert set(by) == {"Happy", "Sad", "Angry", "Fear", "Neutral"}  # every class present
    assert by["Happy"] > by["Sad"] > by["Angry"]  # in proportion otherwise
    assert 9 <= by["Happy"] <= 12 and 4 <= by["Sad"] <= 7
    small = {s.sample_id for s in subset.select(samples, SFEW, 7, seed=0)}
    for n in (21, 50, 99):
        assert small <= {s.sample_id for s in subset.select(samples, SFEW, n, seed=0)}
    assert len(subset.select(samples, SFEW, 500, seed=0)) == 100


def test_smoke_run_then_full_run_pays_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 40)
    out = tmp_path / "run"
    args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
    with serve(manifest, SFEW, seed=8) as sim:
        args += ["--base-url", sim.url, "--batch-size", "5", "--param", "seed=3"]
        dry = CliRunner().invoke(main, [*args, "--limit", "14", "--dry-run"])
        assert "subset:            14 of 40 samples" in dry.output
        assert "requests:          3 if every answer qualifies" in dry.output
        smoke = CliRunner().invoke(main, [*args, "--limit", "14"])
        assert smoke.exit_code == 0, smoke.output
        assert "subset: 14 of 40 samples" in smoke.output
        assert sim.stats["requests"] == 3  # 5 + 5 + 4
        meta = rundir.read_meta(out)
        assert meta["subset"] == {"n": 14, "of": 40, "seed": 0} and meta["segments"] == [14]
        first = list(meta["sample_order"])
        want = {s.sample_id for s in subset.select(load_manifest(manifest, SFEW), SFEW, 14, 0)}
        assert set(first) == want
        assert len(Counter(s.gt for s in load_manifest(manifest, SFEW) if s.sample_id in want)) == 7
        # the same limit again: nothing to do, nothing asked
        again = CliRunner().invoke(main, [*args, "--limit", "14"])
        assert again.exit_code == 0 and sim.stats["requests"] == 3
        dry = CliRunner().invoke(main, [*args, "--dry-run"])
        assert "requests:          6 if every answer qualifies" in dry.output
        assert "(3 already finished)" in dry.output
        full = CliRunner().invoke(main, args)
        assert full.exit_code == 0, full.output
        # 26 new samples in batches of 5: 6 requests, none for the 14 already answered
        assert sim.stats["requests"] == 3 + 6
    meta = rundir.read_meta(out)
    assert meta["subset"] is None and meta["segments"] == [14, 26]
    assert meta["sample_order"][:14] == first and len(set(meta["sample_order"])) == 40
    done = journal.finished_batches(journal.read(out / rundir.JOURNAL))
    assert len(done) == 9
    asked: Counter[str] = Counter()
    for p in (out / "cassettes").glob("*.json"):
        for it in cassettes.read(p):
            asked.update(it.meta["samples"])
    assert sorted(asked) == sorted(meta["sample_order"]) and set(asked.values()) == {1}
    res = CliRunner().invoke(main, ["score", str(out), "--format", "json"])
    assert json.loads(res.output)[0]["n_total"] == 40
    monkeypatch.delenv("OPENAI_API_KEY")
    got = replay(out, manifest)
    assert got.batches == 9 and got.answered + got.unanswered == 40


def test_export_says_a_run_is_a_subset_and_how_it_was_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ger_replay.io import export

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 20)
    out = tmp_path / "run"
    with serve(manifest, SFEW, seed=8) as sim:
        res = CliRunner().invoke(
            main,
            ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out),
             "--base-url", sim.url, "--limit", "7", "--param", "seed=3", "--param", "top_p=0.5"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
    row = export.collect([out]).table.row(0, named=True)
    assert row["subset_of"] == 20 and row["params"] == '{"seed": 3, "top_p": 0.5}'
    assert row["token_field"] == "max_completion_tokens" and row["response_format"] == "text"
    assert row["endpoints"] is None
