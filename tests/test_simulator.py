"""The loopback simulator, driven through the real openai client."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen as mg

from ger_replay.parsing import parse_response
from ger_replay.protocol import datasets
from ger_replay.protocol.rules import Rules
from ger_replay.protocol.settings import RequestSettings
from ger_replay.record.manifest import load_manifest
from ger_replay.record.messages import build_messages
from ger_replay.record.simulator import REFUSAL, serve

SFEW = datasets.get("sfew2")
MOSI = datasets.get("cmumosi")


@pytest.fixture(scope="module")
def image_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sim_img")
    lines = ["sample_id,gt,image"]
    for i in range(8):
        mg.write_image(d / f"{i}.png", seed=100 + i, width=32, height=32)
        lines.append(f"s{i},{SFEW.labels[i % 7]},{i}.png")
    (d / "m.csv").write_text("\n".join(lines) + "\n")
    return d / "m.csv"


@pytest.fixture(scope="module")
def video_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sim_vid")
    mg.write_index_video(d / "a.avi", 12, "MJPG", width=48, height=32, seed=1)
    mg.write_index_video(d / "b.mp4", 9, "mp4v", width=48, height=32, seed=2)
    mg.write_frame_folder(d / "c", 5, width=48, height=32)
    (d / "m.csv").write_text(
        "sample_id,gt,video,text\n"
        "a,1.5,a.avi,what a lovely day\n"
        "b,-2.0,b.mp4,this is terrible\n"
        "c,-0.4,c,not great\n"
    )
    return d / "m.csv"


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="test", max_retries=0, timeout=20)


def ask(c: openai.OpenAI, messages: list[dict]) -> openai.types.chat.ChatCompletion:
    return c.chat.completions.create(model="sim", messages=messages, temperature=0)  # type: ignore[arg-type]


def http(url: str, data: bytes | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def top_classes(text: str, n: int, dataset: datasets.Dataset) -> list[str]:
    res = parse_response(text, n, dataset.labels)
    assert res.status == "ok", (res, text)
    rules = Rules(dataset)
    return [rules.binarize(rules.first_candidate(r)[0]) for r in res.rankings]


@pytest.fixture(scope="module")
def perfect(image_manifest: Path) -> Iterator[openai.OpenAI]:
    with serve(image_manifest, SFEW, accuracy=1.0, seed=5) as s:
        assert s.url.startswith("http://127.0.0.1:") and s.url.endswith("/v1")
        yield client(s.url)


@pytest.mark.parametrize("color", ["rgb", "gray"])
def test_right_answers_through_the_digests(
    perfect: openai.OpenAI, image_manifest: Path, color: str
) -> None:
    samples = load_manifest(image_manifest, SFEW)
    for batch in (samples[:5], samples[5:], samples[2:3]):
        r = ask(perfect, build_messages(SFEW, batch, RequestSettings(color=color)))
        assert top_classes(r.choices[0].message.content or "", len(batch), SFEW) == [
            Rules(SFEW).truth(s.gt) for s in batch
        ]
        assert r.usage is not None and r.usage.prompt_tokens > 85 * len(batch)
        assert r.usage.completion_tokens > 0
        assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_accuracy_zero_is_always_wrong(image_manifest: Path) -> None:
    samples = load_manifest(image_manifest, SFEW)
    with serve(image_manifest, SFEW, accuracy=0.0, seed=1) as s:
        r = ask(client(s.url), build_messages(SFEW, samples, RequestSettings()))
    got = top_classes(r.choices[0].message.content or "", len(samples), SFEW)
    assert all(g != Rules(SFEW).truth(x.gt) for g, x in zip(got, samples, strict=True))


def test_accuracy_is_near_the_setting(tmp_path: Path) -> None:
    lines = ["sample_id,gt,text"] + [f"t{i},{(i % 5) - 2 or 1},text number {i}" for i in range(200)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    samples = load_manifest(tmp_path / "m.csv", MOSI, "text")
    settings = RequestSettings(modality="text")
    rules = Rules(MOSI)
    with serve(tmp_path / "m.csv", MOSI, accuracy=0.7, seed=2) as s:
        c = client(s.url)
        right = 0
        for i in range(0, 200, 20):
            batch = samples[i : i + 20]
            r = ask(c, build_messages(MOSI, batch, settings))
            got = top_classes(r.choices[0].message.content or "", 20, MOSI)
            right += sum(g == rules.truth(x.gt) for g, x in zip(got, batch, strict=True))
    assert 0.6 <= right / 200 <= 0.8


def test_deterministic_by_seed(image_manifest: Path) -> None:
    msgs = build_messages(SFEW, load_manifest(image_manifest, SFEW), RequestSettings())
    answers = []
    for seed in (7, 7, 8):
        with serve(image_manifest, SFEW, accuracy=0.5, seed=seed) as s:
            c = client(s.url)
            answers.append([ask(c, msgs).choices[0].message.content for _ in range(3)])
    assert answers[0] == answers[1]
    assert answers[0] != answers[2]


@pytest.mark.parametrize("modality", ["multi", "video", "text"])
@pytest.mark.parametrize("plan", ["public", "centred", "motion-peak"])
def test_videos_and_texts_are_found(video_manifest: Path, modality: str, plan: str) -> None:
    samples = load_manifest(video_manifest, MOSI)
    settings = RequestSettings(modality=modality, frame_plan=plan, frames=2, color="gray")  # type: ignore[arg-type]
    with serve(video_manifest, MOSI, accuracy=1.0) as s:
        r = ask(client(s.url), build_messages(MOSI, samples, settings))
    got = top_classes(r.choices[0].message.content or "", 3, MOSI)
    assert got == ["positive", "negative", "negative"]


def test_refusals_and_drops(image_manifest: Path) -> None:
    samples = load_manifest(image_manifest, SFEW)[:4]
    msgs = build_messages(SFEW, samples, RequestSettings())
    with serve(image_manifest, SFEW, refuse_rate=1.0) as s:
        assert ask(client(s.url), msgs).choices[0].message.content == REFUSAL
        assert s.stats["refused"] == 1
    with serve(image_manifest, SFEW, drop_rate=1.0) as s:
        text = ask(client(s.url), msgs).choices[0].message.content or ""
    assert parse_response(text, 4, SFEW.labels).status == "count_mismatch"
    assert len(parse_response(text, 3, SFEW.labels).rankings) == 3


def test_partial_refusal_rate_lets_a_retry_through(image_manifest: Path) -> None:
    msgs = build_messages(SFEW, load_manifest(image_manifest, SFEW)[:2], RequestSettings())
    with serve(image_manifest, SFEW, refuse_rate=0.5, seed=3) as s:
        c = client(s.url)
        texts = [ask(c, msgs).choices[0].message.content for _ in range(12)]
    assert REFUSAL in texts and any(t != REFUSAL for t in texts)


def test_server_errors_and_cut_connections(image_manifest: Path) -> None:
    msgs = build_messages(SFEW, load_manifest(image_manifest, SFEW)[:1], RequestSettings())
    with (
        serve(image_manifest, SFEW, error_rate=1.0) as s,
        pytest.raises(openai.InternalServerError),
    ):
        ask(client(s.url), msgs)
    with serve(image_manifest, SFEW, cut_rate=1.0) as s:
        with pytest.raises(openai.APIConnectionError):
            ask(client(s.url), msgs)
        assert s.stats["cut"] == 1


def test_slow_answers(image_manifest: Path) -> None:
    msgs = build_messages(SFEW, load_manifest(image_manifest, SFEW)[:1], RequestSettings())
    with serve(image_manifest, SFEW, slow_rate=1.0, slow_seconds=0.6) as s:
        t0 = time.monotonic()
        ask(client(s.url), msgs)
        assert time.monotonic() - t0 >= 0.6
        c = openai.OpenAI(base_url=s.url, api_key="t", max_retries=0, timeout=0.2)
        with pytest.raises(openai.APITimeoutError):
            ask(c, msgs)


def test_rate_limit_429_with_retry_after(image_manifest: Path) -> None:
    msgs = build_messages(SFEW, load_manifest(image_manifest, SFEW)[:1], RequestSettings())
    with serve(image_manifest, SFEW, rpm_limit=120, rpm_burst=2) as s:
        c = client(s.url)
        ask(c, msgs)
        ask(c, msgs)
        with pytest.raises(openai.RateLimitError) as e:
            ask(c, msgs)
        headers = e.value.response.headers
        assert int(headers["retry-after"]) >= 1
        assert 0 < int(headers["retry-after-ms"]) <= 500
        time.sleep(int(headers["retry-after-ms"]) / 1000 + 0.05)
        ask(c, msgs)  # the wait it asked for is enough
        # the openai client honours retry-after-ms and gets through on its own
        patient = openai.OpenAI(base_url=s.url, api_key="t", max_retries=3)
        for _ in range(3):
            ask(patient, msgs)
        assert s.stats["rate_limited"] >= 1


def test_loopback_only_and_bad_requests(image_manifest: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        serve(image_manifest, SFEW, host="0.0.0.0")
    with pytest.raises(ValueError):
        serve(image_manifest, SFEW, refuse_rate=2.0)
    with serve(image_manifest, SFEW) as s:
        assert http(s.url + "/chat/completions", b"{not json")[0] == 400
        status, body = http(s.url + "/chat/completions", json.dumps({"messages": []}).encode())
        assert status == 400 and "messages" in body["error"]["message"]
        assert http(s.url + "/models")[1]["data"]
        assert http(s.url + "/nothing", b"{}")[0] == 404
        # unknown images still get a well-formed answer
        unknown = [{"role": "user", "content": "Rank these for 1 image."}]
        assert ask(client(s.url), unknown).choices[0].message.content is not None


def test_cli_simulate(image_manifest: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ger_replay.cli", "simulate", "--port", str(port),
         "--manifest", str(image_manifest), "--dataset", "sfew2", "--accuracy", "1"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"http://127.0.0.1:{port}/v1" in line
        samples = load_manifest(image_manifest, SFEW)[:3]
        r = ask(
            client(f"http://127.0.0.1:{port}/v1"), build_messages(SFEW, samples, RequestSettings())
        )
        assert top_classes(r.choices[0].message.content or "", 3, SFEW) == [s.gt for s in samples]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run(
        [sys.executable, "-m", "ger_replay.cli", "simulate", "--manifest", str(image_manifest),
         "--dataset", "nope"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown dataset" in bad.stderr


def _faults_seen(url: str, bodies: list[bytes]) -> list[int]:
    statuses = []
    for raw in bodies:
        req = urllib.request.Request(
            url + "/chat/completions", data=raw, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    return statuses


def test_faults_follow_what_is_asked_not_how_a_client_spells_it(image_manifest: Path) -> None:
    """Two clients that serialise one request differently (key order, spacing, extra default
    fields) meet the same faults in the same order, and the faults do fire."""
    samples = load_manifest(image_manifest, SFEW)
    batches = [samples[i : i + 2] for i in range(0, 8, 2)]
    plain, other = [], []
    for batch in batches:
        body = {"model": "m", "messages": build_messages(SFEW, batch, RequestSettings())}
        for _ in range(3):  # the same request asked again: a retry may succeed
            plain.append(json.dumps(body).encode())
            spelled = {"temperature": 0, "n": 1, **dict(reversed(list(body.items())))}
            other.append(json.dumps(spelled, indent=2, sort_keys=True).encode())
    seen = []
    for bodies in (plain, other):
        with serve(image_manifest, SFEW, error_rate=0.5, seed=11) as s:
            seen.append(_faults_seen(s.url, bodies))
            assert s.stats["error"] == seen[-1].count(500)
    assert seen[0] == seen[1]
    assert 500 in seen[0] and 200 in seen[0]
