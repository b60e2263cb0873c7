"""Bundles: pack, verify, determinism, tampering, secrets, images, YAML, schema versions."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_share_helpers import cassette, gunzip, interaction, make_run, regzip, run_json

from ger_replay.cli import main
from ger_replay.errors import InputError
from ger_replay.io import bundle, cassettes, schema, verify


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [make_run(tmp_path / "runs", "run-a"), make_run(tmp_path / "runs", "run-b", repeat=1)]


def _messages(problems: list) -> str:
    return "\n".join(str(p) for p in problems)


def test_pack_then_verify_holds(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    res = bundle.pack(runs, out)
    assert res.runs == ["run-a", "run-b"]
    assert res.files == 10  # run.json, labels.csv, journal.jsonl and two cassettes, per run
    assert verify.verify(out) == []
    with bundle.open_bundle(out) as b:
        manifest = json.loads(b.read("manifest.json"))
        names = [m.name for m in b.members]
    assert names[0] == "manifest.json"
    assert names[1:] == sorted(names[1:])
    assert manifest["run_schema_version"] == schema.RUN_SCHEMA_VERSION
    assert manifest["tool_version"] == bundle.tool_version()
    assert manifest["files"]["runs/run-a/labels.csv"]["size"] == len(
        (runs[0] / "labels.csv").read_bytes()
    )


def test_same_runs_same_bytes(runs: list[Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    bundle.pack(runs, a)
    for f in runs[0].rglob("*"):  # touching mtimes changes nothing
        os.utime(f, (1_700_000_000, 1_700_000_000))
    bundle.pack(list(reversed(runs)), b)
    assert a.read_bytes() == b.read_bytes()


def test_one_byte_changed_fails_naming_the_file(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    bundle.pack(runs, out)
    raw = bytearray(gunzip(out))
    at = raw.index(b"s2,Sad")
    raw[at + 3] = ord("H")  # "s2,Had": a valid archive whose labels.csv was altered
    regzip(bytes(raw), out)
    problems = verify.verify(out)
    assert len(problems) == 1
    assert "runs/run-a/labels.csv" in str(problems[0])
    assert "altered" in str(problems[0])


def test_one_compressed_byte_changed_fails(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    bundle.pack(runs, out)
    raw = bytearray(out.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    out.write_bytes(bytes(raw))
    problems = verify.verify(out)
    assert problems and str(out) in str(problems[0])


def test_extra_and_missing_members_listed(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    bundle.pack(runs, out)
    import io
    import tarfile

    buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(gunzip(out))) as src,
        tarfile.open(fileobj=buf, mode="w") as dst,
    ):
        for m in src.getmembers():
            if m.name == "runs/run-b/journal.jsonl":
                continue
            dst.addfile(m, src.extractfile(m))
        extra = tarfile.TarInfo("runs/run-a/notes.txt")
        extra.size = 2
        dst.addfile(extra, io.BytesIO(b"hi"))
    regzip(buf.getvalue(), out)
    text = _messages(verify.verify(out))
    assert "runs/run-b/journal.jsonl: listed in the manifest but missing" in text
    assert "runs/run-a/notes.txt: not listed in the manifest" in text


def test_pack_refuses_a_key_naming_the_file(runs: list[Path], tmp_path: Path) -> None:
    key = "sk-proj-" + "A1b2C3d4" * 5
    bad = runs[1] / "cassettes" / "b00001.json"
    data = cassette("b00001", [(["s3"], "x")])
    data["interactions"][0] = interaction(["s3"], "x", {"Authorization": [f"Bearer {key}"]})
    bad.write_text(json.dumps(data, indent=4), encoding="utf-8")
    out = tmp_path / "b.tar.gz"
    with pytest.raises(bundle.PackRefused) as ei:
        bundle.pack(runs, out)
    text = _messages(ei.value.problems)
    assert str(bad) in text
    assert "an API key" in text and "a bearer token" in text and "a credential header" in text
    assert key not in text  # never repeated
    assert not out.exists()


def test_pack_refuses_image_bytes(runs: list[Path], tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    data = cassette("b00000", [(["s1"], "x")])
    body = json.loads(data["interactions"][0]["request"]["body"])
    body["messages"][0]["content"][0]["image_url"]["url"] = (
        "data:image/png;base64," + base64.b64encode(png).decode()
    )
    data["interactions"][0]["request"]["body"] = json.dumps(body)
    f = runs[0] / "cassettes" / "b00000.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    (runs[1] / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)  # not a run file
    with pytest.raises(bundle.PackRefused) as ei:
        bundle.pack(runs, tmp_path / "b.tar.gz")
    text = _messages(ei.value.problems)
    assert f"{f}:1: an image data URL" in text
    assert "base64 PNG image" in text
    res = None
    f.write_text(json.dumps(cassette("b00000", [(["s1"], "x")])), encoding="utf-8")
    res = bundle.pack(runs, tmp_path / "b.tar.gz")
    assert str(runs[1] / "photo.jpg") in res.skipped  # left out, never packed


def test_yaml_cassette_with_python_tag_never_runs(runs: list[Path], tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = runs[0] / "cassettes" / "b00002.yaml"
    evil.write_text(
        f"interactions:\n- request: !!python/object/apply:os.system ['touch {marker}']\n",
        encoding="utf-8",
    )
    with pytest.raises(bundle.PackRefused) as ei:
        bundle.pack(runs, tmp_path / "b.tar.gz")
    assert f"{evil}: a YAML cassette" in _messages(ei.value.problems)
    # the same bytes named .json: still never parsed as YAML
    as_json = runs[0] / "cassettes" / "b00002.json"
    evil.rename(as_json)
    with pytest.raises(bundle.PackRefused) as ei:
        bundle.pack(runs, tmp_path / "b.tar.gz")
    assert "YAML python tag" in _messages(ei.value.problems)
    with pytest.raises(InputError, match="YAML python tag"):
        cassettes.load_cassette(as_json.read_bytes(), as_json)
    assert not marker.exists()


def test_no_labels(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    bundle.pack(runs, out, labels=False)
    with bundle.open_bundle(out) as b:
        names = {m.name for m in b.members}
    assert not any(n.endswith("labels.csv") for n in names)
    assert verify.verify(out) == []
    (runs[0] / "labels.csv").unlink()
    with pytest.raises(bundle.PackRefused, match="1 problem"):
        bundle.pack(runs, out)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "needs a ger-replay that reads schema version 2"),
        ({"schema_version": 0}, "schema version 0 is no longer read"),
        ({"schema_version": "1"}, "schema_version must be a whole number"),
        ({"frames": "three"}, "'frames' must be int"),
        ({"kind": "other"}, "kind is 'other'"),
    ],
)
def test_wrong_schema_run_json(
    runs: list[Path], tmp_path: Path, change: dict[str, object], message: str
) -> None:
    (runs[0] / "run.json").write_text(json.dumps(run_json("run-a", **change)), encoding="utf-8")
    with pytest.raises(bundle.PackRefused) as ei:
        bundle.pack(runs, tmp_path / "b.tar.gz")
    text = _messages(ei.value.problems)
    assert str(runs[0] / "run.json") in text and message in text


def test_missing_schema_version_and_bad_json(tmp_path: Path) -> None:
    f = tmp_path / "run.json"
    meta = run_json("x")
    del meta["schema_version"]
    f.write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"no schema_version.*reads schema version 1"):
        schema.load_run_json(f)
    f.write_text('{"schema_version": 1,\n "dataset": ')
    with pytest.raises(InputError) as ei:
        schema.load_run_json(f)
    assert str(ei.value).startswith(f"{f}:2: not valid JSON")


def test_older_schema_upgrades_through_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    def v1_to_v2(meta: dict) -> dict:
        meta = dict(meta)
        meta["model"] = meta.pop("model_name")
        return meta

    monkeypatch.setattr(schema, "RUN_SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema.MIGRATIONS, 1, v1_to_v2)
    old = run_json("x")
    old["model_name"] = old.pop("model")
    got = schema.check_run_json(old, "run.json")
    assert got["schema_version"] == 2 and got["model"] == "gpt-4o"


def test_verify_lists_every_problem_after_tampering(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    bundle.pack(runs, out)
    raw = gunzip(out)
    raw = raw.replace(b'"schema_version": 1', b'"schema_version": 9', 1)
    old = b"'image-2', 'result': ['sad', 'happy']"
    raw = raw.replace(old, b"sk-" + b"A" * (len(old) - 3), 1)  # same length: a valid tar
    regzip(raw, out)
    text = _messages(verify.verify(out))
    assert "runs/run-a/run.json: altered" in text
    assert "runs/run-a/run.json: schema version 9 is newer" in text
    assert "runs/run-a/cassettes/b00000.json: altered" in text
    assert "runs/run-a/cassettes/b00000.json:" in text and "an API key" in text


def test_cli_pack_verify_exit_codes(runs: list[Path], tmp_path: Path) -> None:
    cli = CliRunner()
    out = tmp_path / "b.tar.gz"
    r = cli.invoke(main, ["pack", *map(str, runs), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert bundle.sha256_file(out) in r.output
    r = cli.invoke(main, ["verify", str(out)])
    assert r.exit_code == 0 and "ok" in r.output
    raw = bytearray(gunzip(out))
    raw[raw.index(b"s3,Angry")] = ord("t")
    regzip(bytes(raw), out)
    r = cli.invoke(main, ["verify", str(out)])
    assert r.exit_code == 1
    assert "labels.csv: altered" in r.output
    (runs[0] / "journal.jsonl").write_text('{"h": "Authorization: Bearer abcdefghijklmnop"}\n')
    r = cli.invoke(main, ["pack", *map(str, runs), "-o", str(tmp_path / "c.tar.gz")])
    assert r.exit_code == 2
    assert f"{runs[0] / 'journal.jsonl'}:1: a bearer token" in r.output
    assert not (tmp_path / "c.tar.gz").exists()


def test_verify_a_run_folder(runs: list[Path]) -> None:
    assert verify.verify(runs[0]) == []
    (runs[0] / "run.json").write_text(
        json.dumps(run_json("run-a", endpoint="https://x/v1?api-key=abcd1234"))
    )
    assert "a key in a URL" in _messages(verify.verify(runs[0]))
