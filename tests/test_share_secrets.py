"""Secret and image detection: what must be found, and ordinary run files that must pass."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from test_share_helpers import make_run

from ger_replay.io.secrets import image_kind, scan_bytes, scan_file

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32
GIF = b"GIF89a" + b"\x01\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
BMP = b"BM" + b"\x36\x00\x0c\x00" + b"\x00\x00\x00\x00" + b"\x36\x00\x00\x00" + b"\x00" * 32


def kinds(data: bytes) -> list[str]:
    return [f.kind for f in scan_bytes(data, "f")]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key = sk-" + "a1B2" * 12, "an API key"),
        ("sk-proj-" + "x_Y-z" * 10, "an API key"),
        ("sk-svcacct-" + "Q" * 30, "an API key"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "a bearer token"),
        ('"openai-organization": ["org-AbCdEfGhIjKlMnOpQrStUvWx"]', "an organization id"),
        ('{"Authorization": ["x"]}', "a credential header"),
        ('{"api-key": "0123"}', "a credential header"),
        ('{"set-cookie": ["a=b"]}', "a credential header"),
        ('"string": "{\\"authorization\\": \\"x\\"}"', "a credential header"),
        ("  api-key: 12345\n", "a credential header"),
        ("https://x.openai.azure.com/v1?api-version=1&api-key=abcd1234", "a key in a URL"),
    ],
)
def test_secrets_found(text: str, kind: str) -> None:
    got = scan_bytes(text.encode(), "f.json")
    assert kind in [f.kind for f in got]
    secret_tail = text[-8:]
    assert all(secret_tail not in str(f) for f in got if len(secret_tail.strip()) == 8)


@pytest.mark.parametrize(
    "text",
    [
        "task-sk-1 ask-me sk-short",  # not keys
        "organization of the org-chart",
        '{"Authorization": null, "api-key": "", "cookie": []}',  # emptied headers
        "the bearer of bad news",
        '{"url": "sha256:' + "0f" * 32 + '"}',
        "data:image/jpeg;base64,sha256:" + "ab" * 32,
        "1. {'name': 'image-1', 'result': ['happy', 'sad', 'angry', 'neutral', 'fear']}",
        "a" * 5000,
        "0123456789abcdef" * 40,  # hex digests are not base64 images
    ],
)
def test_ordinary_text_passes(text: str) -> None:
    assert scan_bytes(text.encode(), "f") == []


@pytest.mark.parametrize(
    ("raw", "name"), [(PNG, "PNG"), (JPEG, "JPEG"), (GIF, "GIF"), (WEBP, "WebP"), (BMP, "BMP")]
)
def test_images_raw_base64_and_data_urls(raw: bytes, name: str) -> None:
    assert image_kind(raw) == name
    assert f"{name} image bytes" in kinds(raw)
    b64 = base64.b64encode(raw).decode()
    assert f"base64 {name} image" in kinds(json.dumps({"image": b64}).encode())
    escaped = json.dumps({"image": b64}).replace("/", "\\/").encode()
    assert f"base64 {name} image" in kinds(escaped)
    url = base64.urlsafe_b64encode(raw).decode()
    assert f"base64 {name} image" in kinds(f"x={url}".encode())
    assert "an image data URL" in kinds(f'"data:image/png;base64,{b64}"'.encode())


def test_finding_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "j.jsonl"
    f.write_text('{"ok": 1}\n{"ok": 2}\n{"k": "sk-' + "Z" * 40 + '"}\n')
    (hit,) = scan_file(f)
    assert str(hit).startswith(f"{f}:3: an API key")
    assert "Z" * 10 not in str(hit)


def test_a_realistic_run_is_clean(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r")
    for f in run.rglob("*"):
        if f.is_file():
            assert scan_file(f) == [], f


def test_many_findings_are_summarised() -> None:
    data = ("sk-" + "A" * 30 + "\n") * 100
    got = scan_bytes(data.encode(), "f")
    assert len(got) == 21 and got[-1].hint == "80 more"
