"""Today's endpoints: body parameters as given, the token-limit field, OPENAI_BASE_URL, JSON
output by schema, and the request settings kept in run.json and used by replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from recordkit import FAKE_KEY, image_manifest

from ger_replay.cli import main
from ger_replay.errors import InputError
from ger_replay.io import load as sources
from ger_replay.io import rundir
from ger_replay.protocol import datasets
from ger_replay.protocol.settings import RequestSettings
from ger_replay.record import cassettes, endpoint
from ger_replay.record.recorder import request_body, settings_from_meta
from ger_replay.record.simulator import serve


def test_param_values_are_json_else_strings() -> None:
    got = endpoint.parse_params(
        [
            "temperature=0.3",
            "seed=7",
            "reasoning_effort=low",
            'extra_body={"top_k": 5}',
            "logprobs=true",
            "stop=null",
            "user=a=b",
        ]
    )
    assert got == {
        "temperature": 0.3,
        "seed": 7,
        "reasoning_effort": "low",
        "extra_body": {"top_k": 5},
        "logprobs": True,
        "stop": None,
        "user": "a=b",
    }
    for bad in ("novalue", "=3", "model=x", "messages=[]", "stream=true"):
        with pytest.raises(InputError):
            endpoint.parse_params([bad])
    for secret in ("api_key=sk-x", "Authorization=Bearer x", "password=p"):
        with pytest.raises(InputError, match="credential"):
            endpoint.parse_params([secret])
    with pytest.raises(InputError, match="credential"):
        endpoint.check_params({"api_key": "x"}, "plan params")
    with pytest.raises(InputError, match="twice"):
        endpoint.parse_params(["seed=1", "seed=2"])


@pytest.mark.parametrize(
    ("model", "field", "reasoning"),
    [
        ("gpt-4o", "max_completion_tokens", False),
        ("gpt-4o-mini-2024-07-18", "max_completion_tokens", False),
        ("gpt-4.1", "max_completion_tokens", False),
        ("o3-mini", "max_completion_tokens", True),
        ("o1", "max_completion_tokens", True),
        ("gpt-5", "max_completion_tokens", True),
        ("openai/gpt-5-mini", "max_completion_tokens", True),
        ("gpt-4-vision-preview", "max_tokens", False),
        ("gpt-4-turbo", "max_tokens", False),
        ("Qwen/Qwen2.5-VL-7B-Instruct", "max_tokens", False),
        ("llava:13b", "max_tokens", False),
        ("omni-vision", "max_tokens", False),
    ],
)
def test_token_field_by_model(model: str, field: str, reasoning: bool) -> None:
    assert endpoint.token_field_for(model) == field
    assert endpoint.is_reasoning_model(model) is reasoning


def test_body_fields_params_win_and_one_token_field() -> None:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "x"}]
    s = RequestSettings(model="gpt-4o", params={"temperature": 0.5, "top_p": 0.9})
    body = request_body(s, msgs)
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 1000 and "max_tokens" not in body
    # a token limit given as a parameter replaces the tool's own
    s = RequestSettings(model="gpt-4o", params={"max_tokens": 77})
    body = request_body(s, msgs)
    assert body["max_tokens"] == 77 and "max_completion_tokens" not in body
    # no temperature sent at all
    body = request_body(RequestSettings(model="o3", temperature=None), msgs)
    assert "temperature" not in body
    fmt = request_body(RequestSettings(response_format="json"), msgs)["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["results"]


def test_old_runs_rebuild_their_old_body() -> None:
    """run.json without the new fields: max_tokens and the recorded temperature, as sent."""
    meta = {"model": "gpt-4o", "template": "1", "frames": 3, "color": "rgb"}
    meta |= {"modality": "image", "temperature": 0.0, "max_tokens": 1000}
    body = request_body(settings_from_meta(meta), [])
    assert body == {"model": "gpt-4o", "messages": [], "temperature": 0.0, "max_tokens": 1000}


def _bodies(run_dir: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted((run_dir / rundir.CASSETTES).glob("*.json")):
        for it in cassettes.read(p):
            out.append(json.loads(it.request.body))
    return out


def test_params_and_json_output_live_then_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 14)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=4, accuracy=1.0) as sim:
        monkeypatch.setenv("OPENAI_BASE_URL", sim.url)  # no --base-url: taken from here
        args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
        args += ["--batch-size", "5", "--response-format", "json"]
        args += ["--param", "temperature=0.3", "--param", "seed=7"]
        args += ["--param", "reasoning_effort=low", "--param", 'metadata={"run": "smoke"}']
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        assert sim.stats["json"] == sim.stats["requests"] == 3
    meta = rundir.read_meta(out)
    assert meta["endpoint"] == sim.url and meta["model"] == "gpt-4o"
    assert meta["params"] == {
        "temperature": 0.3,
        "seed": 7,
        "reasoning_effort": "low",
        "metadata": {"run": "smoke"},
    }
    assert meta["token_field"] == "max_completion_tokens" and meta["response_format"] == "json"
    bodies = _bodies(out)
    assert len(bodies) == 3
    for b in bodies:
        assert b["temperature"] == 0.3 and b["seed"] == 7 and b["reasoning_effort"] == "low"
        assert b["metadata"] == {"run": "smoke"}
        assert b["max_completion_tokens"] == 1000 and "max_tokens" not in b
        assert b["response_format"]["type"] == "json_schema"
        answer = json.loads(
            json.loads(
                next(
                    it.response["body"]["string"]
                    for it in cassettes.read(out / "cassettes" / "b00000.json")
                )
            )["choices"][0]["message"]["content"]
        )
        assert set(answer) == {"results"} and answer["results"][0]["name"] in ("image-1", "Image 1")
    # the parser reads {"results": [...]}: a perfect simulator gives accuracy 1
    loaded = sources.load([out])
    assert loaded.table.height == 14
    res = CliRunner().invoke(main, ["score", str(out), "--format", "json"])
    row = json.loads(res.output)[0]
    assert row["n_total"] == row["n_scored"] == 14 and row["acc"] == pytest.approx(100.0)
    # replay rebuilds the identical bodies from run.json, offline
    monkeypatch.delenv("OPENAI_API_KEY")
    res = CliRunner().invoke(main, ["replay", str(out), "--manifest", str(manifest)])
    assert res.exit_code == 0, res.output
    assert "3 call(s)" in res.output


def test_resume_with_other_params_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 4)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=4) as sim:
        args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
        args += ["--base-url", sim.url, "--model", "gpt-4-vision-preview"]
        first = CliRunner().invoke(main, [*args, "--param", "seed=1"])
        assert first.exit_code == 0, first.output
        assert _bodies(out)[0]["max_tokens"] == 1000
        again = CliRunner().invoke(main, [*args, "--param", "seed=2"])
        assert again.exit_code == 2
        assert "params: recorded {'seed': 1}, asked {'seed': 2}" in again.output
        same = CliRunner().invoke(main, [*args, "--param", "seed=1"])
        assert same.exit_code == 0, same.output


def test_reasoning_models_get_no_temperature_and_a_larger_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 3)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=4) as sim:
        args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
        res = CliRunner().invoke(main, [*args, "--base-url", sim.url, "--model", "o4-mini"])
        assert res.exit_code == 0, res.output
    (body,) = _bodies(out)
    assert "temperature" not in body and body["max_completion_tokens"] == 16000
    meta = rundir.read_meta(out)
    assert meta["temperature"] is None and meta["max_tokens"] == 16000


def test_json_refusals_come_in_their_own_field_and_count_as_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ger_replay.io import journal

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 2)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=4, refuse_rate=1.0) as sim:
        args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
        args += ["--base-url", sim.url, "--response-format", "json", "--max-tries", "1"]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
    first = cassettes.read(out / "cassettes" / "b00000.json")[0]
    message = json.loads(first.response["body"]["string"])["choices"][0]["message"]
    assert message["content"] is None and message["refusal"].startswith("I'm sorry")
    outcomes = {e["outcome"] for e in journal.read(out / rundir.JOURNAL) if e["event"] == "call"}
    assert outcomes == {"refused"}
    ref = CliRunner().invoke(main, ["refusals", str(out), "--format", "json"])
    words = json.loads(ref.output)["refusal wordings"]
    assert words and words[0]["wording"].startswith("I'm sorry")


def test_parameters_that_replace_the_typed_fields_keep_run_json_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    manifest = image_manifest(tmp_path, 3)
    out = tmp_path / "run"
    with serve(manifest, datasets.get("sfew2"), seed=4) as sim:
        args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
        args += ["--base-url", sim.url, "--param", "temperature=warm", "--param", "max_tokens=77"]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        again = CliRunner().invoke(main, args)  # the same settings resume
        assert again.exit_code == 0, again.output
    meta = rundir.read_meta(out)
    assert meta["temperature"] == 0.0 and meta["params"]["temperature"] == "warm"
    assert (meta["max_tokens"], meta["token_field"]) == (77, "max_tokens")
    (body,) = _bodies(out)
    assert body["temperature"] == "warm" and body["max_tokens"] == 77
    assert "max_completion_tokens" not in body
    monkeypatch.delenv("OPENAI_API_KEY")
    res = CliRunner().invoke(main, ["replay", str(out), "--manifest", str(manifest)])
    assert res.exit_code == 0, res.output
