"""Preflight: GET /models before the first batch names the URL (without secrets) and the likely
cause of a dead port, a wrong path, a refused key or an unknown model; nothing is paid."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from recordkit import FAKE_KEY, image_manifest

from ger_replay.cli import main
from ger_replay.protocol import datasets
from ger_replay.record import preflight
from ger_replay.record.simulator import serve

SFEW = datasets.get("sfew2")


def _record(manifest: Path, out: Path, base_url: str, *extra: str) -> tuple[int, str]:
    args = ["record", "--dataset", "sfew2", "--manifest", str(manifest), "--out", str(out)]
    res = CliRunner().invoke(main, [*args, "--base-url", base_url, *extra])
    return res.exit_code, res.output


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    return image_manifest(tmp_path, 4)


def test_redacted_url_has_no_user_info_query_or_fragment() -> None:
    got = preflight.redact_url("https://user:hunter2@example.test:8443/v1/models?api-key=zz#frag")
    assert got == "https://example.test:8443/v1/models"
    assert preflight.redact_url("http://[::1]:9/v1") == "http://[::1]:9/v1"


def test_dead_port_fails_naming_the_port_and_writes_nothing(manifest: Path, tmp_path: Path) -> None:
    port = _dead_port()
    out = tmp_path / "run"
    code, text = _record(manifest, out, f"http://u:hunter2@127.0.0.1:{port}/v1?key=qsecret")
    assert code == 2, text
    assert f"http://127.0.0.1:{port}/v1/models" in text
    assert "connection refused" in text and f"port {port}" in text
    assert "hunter2" not in text and "qsecret" not in text and FAKE_KEY not in text
    assert not out.exists()


def test_wrong_path_is_named_with_the_v1_hint(manifest: Path, tmp_path: Path) -> None:
    with serve(manifest, SFEW) as sim:
        wrong = sim.url.removesuffix("/v1") + "/api"
        code, text = _record(manifest, tmp_path / "run", wrong)
        assert code == 2, text
        assert f"{wrong}/models" in text and "HTTP 404" in text and "/v1" in text
        assert sim.stats.get("requests", 0) == 0


def test_refused_key_is_named_not_printed(manifest: Path, tmp_path: Path) -> None:
    with serve(manifest, SFEW, api_key="the-right-key") as sim:
        code, text = _record(manifest, tmp_path / "run", sim.url)
        assert code == 2, text
        assert "key was refused (HTTP 401)" in text and "OPENAI_API_KEY" in text
        assert f"{sim.url}/models" in text and FAKE_KEY not in text
        assert sim.stats.get("requests", 0) == 0 and sim.stats["unauthorised"] == 1


def test_unknown_model_lists_what_is_served(manifest: Path, tmp_path: Path) -> None:
    with serve(manifest, SFEW, models=("gpt-4o", "gpt-4o-mini")) as sim:
        code, text = _record(manifest, tmp_path / "run", sim.url, "--model", "gpt-9")
        assert code == 2, text
        assert "unknown model 'gpt-9'" in text and "gpt-4o, gpt-4o-mini" in text
        assert sim.stats.get("requests", 0) == 0
        # the same with a served model records
        code, text = _record(manifest, tmp_path / "run", sim.url, "--model", "gpt-4o-mini")
        assert code == 0, text
        # list + retrieve (404) for the unknown model, list for the served one
        assert sim.stats["requests"] == 1 and sim.stats["models"] == 2
        assert sim.stats["get_refused"] == 1


def test_unlisted_model_found_by_retrieve_passes(manifest: Path) -> None:
    with serve(manifest, SFEW) as sim:  # lists "simulator", serves any name
        got = preflight.check(sim.url, FAKE_KEY, "some-model")
        assert got.models == ["simulator"] and got.url == f"{sim.url}/models"


@pytest.fixture
def html_server() -> Iterator[str]:
    class Html(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = b"<html><body>a dashboard</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Html)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_web_page_is_no_api(manifest: Path, tmp_path: Path, html_server: str) -> None:
    code, text = _record(manifest, tmp_path / "run", html_server)
    assert code == 2
    assert "text/html" in text and "not an OpenAI model list" in text


def test_no_preflight_skips_the_check(manifest: Path, tmp_path: Path) -> None:
    with serve(manifest, SFEW) as sim:
        code, text = _record(manifest, tmp_path / "run", sim.url, "--no-preflight")
        assert code == 0, text
        assert sim.stats.get("models", 0) == 0 and sim.stats["requests"] == 1


def test_simulate_command_checks_keys_and_models(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess
    import sys

    port = _dead_port()
    env = {**os.environ, "SIM_KEY": "sim-key-123"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ger_replay.cli", "simulate", "--port", str(port),
         "--manifest", str(manifest), "--dataset", "sfew2", "--serve-model", "gpt-4o",
         "--key-env", "SIM_KEY"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        assert f"http://127.0.0.1:{port}/v1" in proc.stderr.readline()
        url = f"http://127.0.0.1:{port}/v1"
        code, text = _record(manifest, tmp_path / "a", url)  # the test key: refused
        assert code == 2 and "HTTP 401" in text
        monkeypatch.setenv("OPENAI_API_KEY", "sim-key-123")
        code, text = _record(manifest, tmp_path / "b", url, "--model", "gpt-4o-mini")
        assert code == 2 and "unknown model 'gpt-4o-mini'" in text and "gpt-4o" in text
        code, text = _record(manifest, tmp_path / "c", url)  # gpt-4o, the default
        assert code == 0, text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run(
        [sys.executable, "-m", "ger_replay.cli", "simulate", "--manifest", str(manifest),
         "--dataset", "sfew2", "--key-env", "GER_NOT_SET_ANYWHERE"],
        capture_output=True, text=True, timeout=60, env={**os.environ},
    )  # fmt: skip
    assert bad.returncode == 2 and "GER_NOT_SET_ANYWHERE" in bad.stderr


def test_an_endpoint_without_a_model_list_passes_with_a_note(
    manifest: Path, tmp_path: Path
) -> None:
    with serve(manifest, SFEW, list_models=False) as sim:
        code, text = _record(manifest, tmp_path / "run", sim.url, "--model", "any-model")
        assert code == 0, text
        assert "note: the endpoint lists no models" in " ".join(text.split())
        assert sim.stats["requests"] == 1
        wrong = sim.url.removesuffix("/v1") + "/api"
        code, text = _record(manifest, tmp_path / "other", wrong)
        assert code == 2 and "HTTP 404" in text and sim.stats["requests"] == 1
    from ger_replay.io import journal, rundir

    (opened,) = [e for e in journal.read(tmp_path / "run" / rundir.JOURNAL) if e["event"] == "open"]
    assert (
        opened["preflight"]["models_listed"] == 0 and "not checked" in opened["preflight"]["note"]
    )


def test_azure_deployment_names_are_not_checked_against_the_model_list() -> None:
    assert preflight._names_deployments("https://my-res.openai.azure.com/openai/v1")
    assert preflight._names_deployments("https://x.cognitiveservices.azure.com/openai/v1/")
    assert not preflight._names_deployments("https://api.openai.com/v1")
    assert not preflight._names_deployments("https://openai.azure.com.evil.test/v1")
