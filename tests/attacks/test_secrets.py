"""Attack: an endpoint that echoes the key (in answers, 400 bodies, 429/5xx messages, 401s) and
a base URL with a password and secret query parameters. Nothing of either may reach the disk
or the terminal; `pack`/`verify` must find what value scrubbing cannot know."""

from __future__ import annotations

from pathlib import Path

import pytest
from attackkit import KEY, PASSWORD, leaks, record, url_with_credentials
from click.testing import CliRunner
from hostile import Hostile

from ger_replay.cli import main
from ger_replay.io import rundir, scrub
from ger_replay.record import cassettes


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.mark.parametrize("mode", ["echo", "echo400", "echo429", "echo500"])
def test_echoed_key_and_url_credentials_never_reach_the_disk(tmp_path: Path, mode: str) -> None:
    with Hostile(mode) as h:
        summary = record(tmp_path, url_with_credentials(h.url))
    assert summary.complete  # type: ignore[attr-defined]
    assert leaks(tmp_path / "run") == []
    meta = rundir.read_meta(tmp_path / "run")
    assert meta["endpoint"].startswith("http://127.0.0.1:") and "?" not in meta["endpoint"]
    uris = {
        it.request.uri
        for f in (tmp_path / "run/cassettes").glob("*.json")
        for it in cassettes.read(f)
    }
    assert uris and all("?" not in u and "@" not in u for u in uris)
    # exports and reports of the run hold nothing either
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["export", str(tmp_path / "run"), "-o", str(out / "x.csv")])
    assert r.exit_code == 0, r.output
    assert leaks(out) == []


def test_echoed_key_is_scrubbed_in_the_answer_text(tmp_path: Path) -> None:
    with Hostile("echo") as h:
        record(tmp_path, h.url)
    texts = [
        it.body_text
        for f in (tmp_path / "run/cassettes").glob("*.json")
        for it in cassettes.read(f)
    ]
    assert texts and all(scrub.REDACTED in t for t in texts)
    assert all(KEY not in t for t in texts)


def test_a_401_prints_neither_the_key_nor_the_password(tmp_path: Path) -> None:
    from recordkit import image_manifest

    manifest = image_manifest(tmp_path, 3)
    with Hostile("echo401") as h:
        r = CliRunner().invoke(
            main,
            [
                "record",
                "--dataset",
                "sfew2",
                "--manifest",
                str(manifest),
                "--out",
                str(tmp_path / "run"),
                "--base-url",
                url_with_credentials(h.url),
            ],
        )
    assert r.exit_code == 2
    assert "401" in r.output
    for s in (KEY, PASSWORD, "SIGsecret91"):
        assert s not in r.output
    assert leaks(tmp_path / "run") == []


def test_scrub_finds_every_spelling() -> None:
    dashed = KEY.replace("-", "\\u002d")
    every = "".join(f"\\u{ord(c):04x}" for c in KEY)
    text = f"{KEY} {dashed} {every}"
    out = scrub.scrub_json_text(f'{{"a": "{text}"}}', [KEY])
    assert KEY not in out and "\\u" not in out
    assert scrub.clean_url(f"https://u:{PASSWORD}@h.example:8443/v1?sig=x#f") == (
        "https://h.example:8443/v1"
    )


def test_a_key_left_in_an_older_run_never_reaches_exports_reports_or_bundles(
    tmp_path: Path,
) -> None:
    """A run recorded before scrubbing (the key inside an answer and its endpoint URL): every
    output scrubs it by value, and `pack` refuses the run."""
    import json

    from recordkit import record_run

    run, _, _ = record_run(tmp_path / "old", n=6, batch_size=3)
    meta = json.loads((run / "run.json").read_text())
    meta["endpoint"] = url_with_credentials("http://127.0.0.1:9/v1")
    meta["model"] = f"model-{KEY}"
    (run / "run.json").write_text(json.dumps(meta))
    out = tmp_path / "out"
    for fmt in ("csv", "jsonl", "parquet"):
        r = CliRunner().invoke(main, ["export", str(run), "-o", str(out / f"x.{fmt}")])
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["report", str(run), "-o", str(out / "report"), "--no-ci"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["score", str(run), "--format", "json", "-o", str(out / "s")])
    assert leaks(out) == [] and KEY not in r.output
    r = CliRunner().invoke(main, ["pack", str(run), "-o", str(tmp_path / "b.tar.gz")])
    assert r.exit_code == 2 and "credential" in r.output and KEY not in r.output


def test_a_run_recorded_against_an_echoing_endpoint_verifies_clean(tmp_path: Path) -> None:
    """What scrubbing leaves (`sig=[REDACTED]`) is no finding; the run packs and verifies."""
    with Hostile("echo") as h:
        record(tmp_path, url_with_credentials(h.url))
    r = CliRunner().invoke(main, ["verify", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["pack", str(tmp_path / "run"), "-o", str(tmp_path / "b.tgz")])
    assert r.exit_code == 0, r.output
    assert leaks(tmp_path / "run") == []
