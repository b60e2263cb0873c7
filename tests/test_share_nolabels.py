"""A bundle packed without labels scores with the ground truth given by `--labels`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ger_replay.cli import main


def test_no_labels_bundle_scores_with_given_ground_truth(repo_root: Path, tmp_path: Path) -> None:
    run = repo_root / "cassettes" / "sfew2-demo"
    bundle = tmp_path / "b.tar.gz"
    r = CliRunner()
    assert r.invoke(main, ["pack", str(run), "-o", str(bundle), "--no-labels"]).exit_code == 0
    bare = r.invoke(main, ["score", str(bundle)])
    assert bare.exit_code == 2
    assert "missing labels.csv" in bare.stderr and "--labels" in bare.stderr
    direct = json.loads(r.invoke(main, ["score", str(run), "--format", "json"]).stdout)
    given = r.invoke(
        main, ["score", str(bundle), "--labels", str(run / "labels.csv"), "--format", "json"]
    )
    assert given.exit_code == 0, given.output
    assert [d["value"] for d in json.loads(given.stdout)] == [d["value"] for d in direct]
    partial = tmp_path / "partial.csv"
    partial.write_text("sample_id,gt\nsfew2_000,Happy\n")
    res = r.invoke(main, ["score", str(bundle), "--labels", str(partial)])
    assert res.exit_code == 2 and "lacks 39 sample(s)" in res.stderr
    clash = tmp_path / "clash.csv"
    clash.write_text("sample_id,gt\nx,Happy\nx,Sad\n")
    res = r.invoke(main, ["score", str(bundle), "--labels", str(clash)])
    assert res.exit_code == 2 and "clash.csv:3: sample 'x' given two labels" in res.stderr
