"""Secrets scrubbed by value: the literal value of every credential variable the tool reads (and
any key handed to it) is replaced in everything written and printed, in the forms it may take
when an endpoint echoes it (plain, JSON-escaped, URL-encoded). URLs are kept without user info,
query or fragment.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

#: Every environment variable the tool may read a credential from.
CREDENTIAL_VARS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_ORGANIZATION",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_AD_TOKEN",
)
REDACTED = "[REDACTED]"
#: Query parameters known to hold no secret (an Azure API version): their values are not
#: scrubbed from everything else (they still never appear in a stored URL).
PUBLIC_QUERY = frozenset({"api-version", "api_version"})
#: Values shorter than this are not scrubbed (they would match ordinary words).
MIN_LEN = 6

_extra: set[str] = set()
_lock = threading.Lock()


def register(value: str | None) -> None:
    """Adds a secret handed to the tool other than through the environment (an explicit key)."""
    if value and len(value.strip()) >= MIN_LEN:
        with _lock:
            _extra.add(value.strip())


def register_url(url: str) -> None:
    """Adds the credentials a URL may carry (user, password, every query value) as secrets."""
    from urllib.parse import parse_qsl, unquote

    try:
        parts = urlsplit(url)
    except ValueError:
        return
    for v in (parts.username, parts.password):
        if v:
            register(unquote(v))
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k.lower() not in PUBLIC_QUERY:
            register(v)
    register(parts.fragment)


def secret_values() -> list[str]:
    """The current secrets, longest first (so a key containing another is replaced whole)."""
    vals = {os.environ.get(v, "").strip() for v in CREDENTIAL_VARS}
    with _lock:
        vals |= _extra
    return sorted((v for v in vals if len(v) >= MIN_LEN), key=len, reverse=True)


def _forms(secret: str) -> list[str]:
    """How a secret may appear in text: plain, JSON-escaped (`\\/`, `\\uXXXX`), URL-encoded."""
    out = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
    out.add(json.dumps(secret)[1:-1].replace("/", "\\/"))
    out.add("".join(f"\\u{ord(c):04x}" for c in secret))
    out.add("".join(f"\\u{ord(c):04X}" for c in secret))
    raw = secret.encode()
    out.add(base64.b64encode(raw).decode().rstrip("="))
    out.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return sorted((f for f in out if f), key=len, reverse=True)


def scrub_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every form of every secret replaced by [REDACTED]; JSON strings that decode
    to a secret in a mixed escaping are caught by `scrub_json_text`."""
    for s in secret_values() if secrets is None else secrets:
        if s in text or "\\" in text or "%" in text:
            for f in _forms(s):
                if f in text:
                    text = text.replace(f, REDACTED)
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str] | None = None) -> bytes:
    vals = secret_values() if secrets is None else list(secrets)
    for s in vals:
        for f in _forms(s):
            fb = f.encode()
            if fb in data:
                data = data.replace(fb, REDACTED.encode())
    return data


def scrub_obj(obj: Any, secrets: Iterable[str] | None = None) -> Any:
    """A JSON value with every string scrubbed (iterative: no recursion on hostile depth)."""
    vals = secret_values() if secrets is None else list(secrets)
    if not vals:
        return obj
    root: list[Any] = [obj]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        v = parent[key]
        if isinstance(v, str):
            parent[key] = scrub_text(v, vals)
        elif isinstance(v, list):
            stack.extend((v, i) for i in range(len(v)))
        elif isinstance(v, dict):
            for k in list(v):
                nk = scrub_text(k, vals) if isinstance(k, str) else k
                if nk != k:
                    v[nk] = v.pop(k)
                stack.append((v, nk))
    return root[0]


def contains_secret(text: str | bytes, secrets: Iterable[str] | None = None) -> bool:
    data = text.encode() if isinstance(text, str) else text
    return any(f.encode() in data for s in (secrets or secret_values()) for f in _forms(s))


def scrub_json_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """A JSON text scrubbed: plain forms replaced, and when the decoded JSON still holds a secret
    (escaped in a way no fixed form covers), re-serialised from the scrubbed value."""
    vals = secret_values() if secrets is None else list(secrets)
    if not vals:
        return text
    text = scrub_text(text, vals)
    if "\\" not in text:
        return text
    from ger_replay.errors import InputError
    from ger_replay.io.safe_read import loads

    try:
        obj = loads(text, "response")
    except InputError:
        return text
    if not _holds(obj, vals):
        return text
    return json.dumps(scrub_obj(obj, vals), ensure_ascii=False)


def _holds(obj: Any, vals: list[str]) -> bool:
    stack = [obj]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if any(s in v for s in vals):
                return True
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
    return False


def clean_url(url: str) -> str:
    """The URL without user info, query string or fragment (any of them may hold a secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    return scrub_text(urlunsplit((parts.scheme, netloc, parts.path, "", "")))


def scrub_frame(df: Any) -> Any:
    """A polars DataFrame (or LazyFrame) with every secret's forms replaced in its string
    columns."""
    vals = secret_values()
    if not vals:
        return df
    import polars as pl

    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    cols = [c for c, t in schema.items() if t == pl.String]
    if not cols:
        return df
    exprs = []
    for c in cols:
        e = pl.col(c)
        for secret in vals:
            for f in _forms(secret):
                e = e.str.replace_all(f, REDACTED, literal=True)
        exprs.append(e.alias(c))
    return df.with_columns(exprs)
