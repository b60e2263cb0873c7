"""Run folders read through the schema check: newer versions name the version they need."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from ger_replay.cli import main


def test_run_folder_with_a_newer_schema_names_the_version(repo_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(repo_root / "cassettes" / "sfew2-demo", run)
    meta = json.loads((run / "run.json").read_text())
    assert CliRunner().invoke(main, ["score", str(run)]).exit_code == 0
    meta["schema_version"] = 99
    (run / "run.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(main, ["score", str(run)])
    assert res.exit_code == 2
    assert "run.json: schema version 99 is newer" in res.stderr
    assert "reads schema version 99" in res.stderr


def test_malformed_cassette_response_is_named(repo_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(repo_root / "cassettes" / "sfew2-demo", run)
    cassette = sorted((run / "cassettes").glob("*.json"))[0]
    data = json.loads(cassette.read_text())
    del data["interactions"][0]["response"]["status"]
    cassette.write_text(json.dumps(data))
    res = CliRunner().invoke(main, ["score", str(run)])
    assert res.exit_code == 2
    assert f"{cassette.name}: interaction 0: response without status.code" in res.stderr
