"""Cassettes: scrubbing, image digests, canonical bodies, atomic writes, plain vcrpy replay, and
no secret or image byte on disk after a real recording against the simulator."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import openai
import pytest
import vcr
from recordkit import FAKE_KEY, record_run
from vcr.request import Request

from ger_replay.errors import InputError
from ger_replay.io import journal, rundir
from ger_replay.record import cassettes

JPEG = b"\xff\xd8\xff\xe0 pretend jpeg bytes"
URL = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()


def _body(url: str = URL) -> bytes:
    msg = {
        "role": "user",
        "content": [
            {"type": "text", "text": "hi"},
            {"type": "image_url", "image_url": {"url": url}},
        ],
    }
    return json.dumps({"model": "m", "messages": [msg], "temperature": 0}).encode()


def test_images_become_digests_idempotently_and_bodies_are_canonical() -> None:
    want = "sha256:" + hashlib.sha256(JPEG).hexdigest()
    canon = cassettes.canonical_body(_body())
    assert canon is not None
    assert want.encode() in canon and b"base64" not in canon
    assert cassettes.canonical_body(canon) == canon  # idempotent on a recorded body
    # key order and whitespace do not matter; the digest of the images does
    reordered = json.dumps(json.loads(_body()), indent=2, sort_keys=False).encode()
    assert cassettes.body_digest(reordered) == cassettes.body_digest(_body())
    other = "data:image/jpeg;base64," + base64.b64encode(JPEG + b"x").decode()
    assert cassettes.body_digest(_body(other)) != cassettes.body_digest(_body())
    assert cassettes.canonical_body(b"not json") == b"not json"


def test_scrubbing_keeps_only_content_type_and_cleans_urls() -> None:
    req = Request(
        "POST",
        "http://user:pw@127.0.0.1:9/v1/chat/completions?api-key=SECRET&api-version=1",
        _body(),
        {
            "Authorization": "Bearer " + FAKE_KEY,
            "api-key": "x",
            "Cookie": "a=b",
            "OpenAI-Organization": "org-1",
            "Content-Type": "application/json",
        },
    )
    it = cassettes.capture(
        req.method,
        req.uri,
        req.body,
        req.headers.items(),
        200,
        "OK",
        [
            ("Set-Cookie", "s=1"),
            ("openai-organization", "org-1"),
            ("x-request-id", "r"),
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        b'{"choices": []}',
        {"samples": ["a"], "split": "", "attempt": 1},
    )
    assert dict(it.request.headers) == {"Content-Type": "application/json"}
    # no user info and no query at all: any parameter may carry a secret (sig=, code=, ...)
    assert it.request.uri == "http://127.0.0.1:9/v1/chat/completions"
    assert it.response["headers"] == {"Content-Type": ["application/json"]}
    text = cassettes.dumps([it], {"ger_replay": {"batch": "b0", "calls": [it.meta]}})
    for secret in (FAKE_KEY, "SECRET", "org-1", "s=1", "pw@", "base64"):
        assert secret not in text


def test_write_is_atomic_and_read_checks_metadata(tmp_path: Path) -> None:
    it = cassettes.capture(
        "POST",
        "http://127.0.0.1/v1/chat/completions",
        _body(),
        [],
        200,
        "OK",
        [],
        b"{}",
        {"samples": ["a"], "split": "", "attempt": 1},
    )
    path = tmp_path / "cassettes" / "b00000.json"
    cassettes.write(path, [it, it], "b00000")
    assert [p.name for p in path.parent.iterdir()] == ["b00000.json"]  # no temp file left
    back = cassettes.read(path)
    assert len(back) == 2 and back[0].meta["samples"] == ["a"]
    data = json.loads(path.read_text())
    data["metadata"]["ger_replay"]["calls"].pop()
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="describes 1 call"):
        cassettes.read(path)
    path.write_text("{ cut")
    with pytest.raises(InputError, match=str(path)):
        cassettes.read_raw(path)


def test_journal_drops_a_line_cut_by_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "journal.jsonl"
    with journal.Journal(p) as j:
        j.write({"event": "batch_done", "batch": "b00000"})
    with p.open("ab") as f:
        f.write(b'{"event": "batch_do')  # killed mid-line
    assert journal.finished_batches(journal.read(p)) == {"b00000"}
    with journal.Journal(p) as j:
        j.write({"event": "batch_done", "batch": "b00001"})
    assert journal.finished_batches(journal.read(p)) == {"b00000", "b00001"}
    p.write_bytes(b'{"event": "x"}\nnot json\n')
    with pytest.raises(InputError, match=":2"):
        journal.read(p)


def test_run_json_reader_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no run\.json"):
        rundir.read_meta(tmp_path)
    (tmp_path / "run.json").write_text('{"schema_version": 2}')
    with pytest.raises(InputError, match="schema version 2 is newer"):
        rundir.read_meta(tmp_path)
    (tmp_path / "run.json").write_text('{"schema_version": 1, "dataset": "sfew2", "model": "m"}')
    with pytest.raises(InputError, match="missing 'labels'"):
        rundir.read_meta(tmp_path)
    (tmp_path / "labels.csv").write_text("sample_id,gt\na,Happy\na,Sad\n")
    with pytest.raises(InputError, match=r"labels.csv:3"):
        rundir.read_labels(tmp_path)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("rec")
    os.environ["OPENAI_ORG_ID"] = "org-SECRETORG123"
    try:
        run, manifest, _ = record_run(folder, n=16, batch_size=8, refuse_rate=0.3)
    finally:
        os.environ.pop("OPENAI_ORG_ID", None)
    return run, manifest


def test_no_secret_and_no_image_bytes_on_disk(recorded: tuple[Path, Path]) -> None:
    run, manifest = recorded
    images = [p.read_bytes() for p in (manifest.parent / "media").iterdir()]
    b64 = [base64.b64encode(cassettes_jpeg).decode()[:40] for cassettes_jpeg in images]
    files = [p for p in run.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" and p.parent.name == "cassettes" for p in files)
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        low = text.lower()
        assert FAKE_KEY not in text and "SECRETORG" not in text, p
        for h in ("authorization", "api-key", "openai-organization", "cookie", "bearer"):
            assert h not in low, (p, h)
        assert ";base64," not in text and "/9j/" not in text, p  # no JPEG in base64
        assert not any(s in text for s in b64), p
    cass = json.loads((run / "cassettes" / "b00000.json").read_text())
    body = json.loads(cass["interactions"][0]["request"]["body"])
    urls = [
        p["image_url"]["url"] for p in body["messages"][0]["content"] if p["type"] == "image_url"
    ]
    assert urls and all(u.startswith("sha256:") and len(u) == 71 for u in urls)


def _plain_digest_matcher(r1: Request, r2: Request) -> None:
    """What a user writes with the standard library alone: images -> sha256 of their bytes."""

    def canon(body: bytes) -> str:
        def walk(v: object) -> object:
            if isinstance(v, str) and v.startswith("data:") and ";base64," in v:
                return "sha256:" + hashlib.sha256(base64.b64decode(v.split(",", 1)[1])).hexdigest()
            if isinstance(v, list):
                return [walk(x) for x in v]
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            return v

        return json.dumps(walk(json.loads(body)), sort_keys=True)

    assert canon(r1.body) == canon(r2.body)


def test_plain_vcrpy_replays_a_cassette_with_the_openai_client(recorded: tuple[Path, Path]) -> None:
    run, manifest = recorded
    from ger_replay.protocol import datasets
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record.manifest import load_manifest
    from ger_replay.record.messages import build_messages

    path = run / "cassettes" / "b00000.json"
    cass = json.loads(path.read_text())
    first = cass["interactions"][0]
    recorded_answer = json.loads(first["response"]["body"]["string"])["choices"][0]["message"]
    ds = datasets.get("sfew2")
    by_id = {s.sample_id: s for s in load_manifest(manifest, ds)}
    ids = cass["metadata"]["ger_replay"]["calls"][0]["samples"]
    messages = build_messages(ds, [by_id[i] for i in ids], RequestSettings(model="simulated-model"))

    my_vcr = vcr.VCR(serializer="json", record_mode="none")
    my_vcr.register_matcher("digest", _plain_digest_matcher)
    client = openai.OpenAI(api_key="none", base_url="http://127.0.0.1:1/v1", max_retries=0)
    with my_vcr.use_cassette(str(path), match_on=["method", "path", "digest"]):
        got = client.chat.completions.create(
            model="simulated-model", messages=messages, temperature=0.0, max_tokens=1000
        )
    assert got.choices[0].message.content == recorded_answer["content"]
    # and the built-in body matcher, sending the recorded (digested) body as it is
    body = json.loads(first["request"]["body"])
    with vcr.VCR(serializer="json", record_mode="none").use_cassette(
        str(path), match_on=["method", "path", "body"]
    ):
        again = client.chat.completions.create(**body)
    assert again.choices[0].message.content == recorded_answer["content"]
