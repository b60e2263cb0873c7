"""Helpers for the attack tests: a key with no provider's shape, URLs carrying credentials, and
recording a small run against a hostile endpoint."""

from __future__ import annotations

import os
from pathlib import Path

from recordkit import image_manifest

# Built at run time and shaped like no provider's key: only its value can find it.
KEY = "Zq7" + "PlainValueKey-4f9a0b1c2d3e"
PASSWORD = "pa55" + "word-7Hk2"
QUERY_SECRETS = ("SIG" + "secret91", "CODE" + "secret37", "SUB" + "secret55")


def url_with_credentials(url: str) -> str:
    """`http://user:PASSWORD@host:port/v1?sig=...&code=...&subscription-key=...`."""
    scheme, rest = url.split("://", 1)
    sig, code, sub = QUERY_SECRETS
    return f"{scheme}://user:{PASSWORD}@{rest}?sig={sig}&code={code}&subscription-key={sub}"


def secrets() -> list[str]:
    return [KEY, PASSWORD, *QUERY_SECRETS]


def leaks(folder: Path) -> list[str]:
    """Files under `folder` (and what they hold) that contain a secret in any common spelling."""
    from ger_replay.io.scrub import _forms

    forms = {f.encode() for s in secrets() for f in _forms(s)}
    out = []
    for root, _dirs, files in os.walk(folder):
        for f in files:
            p = Path(root) / f
            data = p.read_bytes()
            for form in forms:
                if form in data:
                    out.append(f"{p}: {form[:12]!r}")
    return out


def record(
    folder: Path,
    url: str,
    n: int = 6,
    batch_size: int = 3,
    concurrency: int = 1,
    **kw: object,
) -> object:
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import recorder

    manifest = folder / "manifest.csv"
    if not manifest.exists():
        image_manifest(folder, n)
    opts = recorder.RecordOptions(
        "sfew2",
        manifest,
        folder / "run",
        RequestSettings(model="hostile-model"),
        base_url=url,
        batch_size=batch_size,
        concurrency=concurrency,
        backoff=0.01,
        progress=False,
        **kw,  # type: ignore[arg-type]
    )
    return recorder.record(opts)
