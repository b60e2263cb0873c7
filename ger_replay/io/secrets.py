"""Finding what must never leave a researcher's machine: keys and dataset images.

Secrets: API keys (`sk-...`, project and service-account keys included), bearer tokens,
organization ids (`org-...`), credential headers (Authorization, api-key, organization, cookies)
in JSON or `Name: value` form, and keys in URL query strings. Images: JPEG, PNG, GIF, WebP and BMP,
as raw bytes or base64 (standard or URL-safe, JSON-escaped slashes included), and `data:image/`
URLs whose payload is not a `sha256:<hex>` digest. Findings name the file and line and never
repeat the secret itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ger_replay.errors import InputError

#: More findings than this in one file are summarised as a count.
MAX_PER_FILE = 20


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    hint: str

    def error(self) -> InputError:
        return InputError(f"{self.kind} ({self.hint})", self.path, self.line)

    def __str__(self) -> str:
        return str(self.error())


_B64 = rb"A-Za-z0-9+/_\-"
_HEADERS = (
    rb"authorization|proxy-authorization|api-key|x-api-key|openai-organization"
    rb"|openai-project|cookie|set-cookie"
)
_HEADER_NEEDLES = (b"authorization", b"api-key", b"openai-", b"cookie")
#: (kind, literals of which one must occur, in lower case when `folded`, pattern). The literal
#: test runs at memory speed and skips the regular expression on the common, clean file.
_SECRET_PATTERNS: list[tuple[str, tuple[bytes, ...], bool, re.Pattern[bytes]]] = [
    ("an API key", (b"sk-",), False, re.compile(rb"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}")),
    (
        "a bearer token",
        (b"bearer",),
        True,
        re.compile(rb"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}"),
    ),
    (
        "an organization id",
        (b"org-",),
        False,
        re.compile(rb"(?<![A-Za-z0-9_-])org-[A-Za-z0-9]{12,}"),
    ),
    (
        "a credential header",
        _HEADER_NEEDLES,
        True,
        re.compile(rb'(?i)\\?"(' + _HEADERS + rb')\\?"\s*:\s*+(?!null\b|\[\s*\]|""|\{\s*\})'),
    ),
    (
        "a credential header",
        _HEADER_NEEDLES,
        True,
        re.compile(rb"(?im)^[ \t-]*(" + _HEADERS + rb")[ \t]*:[ \t]*\S"),
    ),
    (
        "a key in a URL",
        (b"=",),
        False,
        re.compile(
            rb"(?i)[?&](api[-_]?key|access[-_]?token|token|sig|code|password|secret"
            rb"|subscription[-_]key|client[-_]secret)=(?!\[REDACTED\])[^&\s\"'#]{4,}"
        ),
    ),
    ("a Groq key", (b"gsk_",), False, re.compile(rb"gsk_[A-Za-z0-9]{20,}")),
    (
        "a Google API key",
        (b"AIza",),
        False,
        re.compile(rb"AIza[0-9A-Za-z_-]{30,}"),
    ),
    (
        "a Hugging Face token",
        (b"hf_",),
        False,
        re.compile(rb"hf_[A-Za-z0-9]{30,}"),
    ),
    (
        "an AWS access key",
        (b"IA",),
        False,
        re.compile(rb"A[KS]IA[0-9A-Z]{16}(?![A-Z0-9])"),
    ),
    (
        "a GitHub token",
        (b"gh",),
        False,
        re.compile(rb"gh(?:[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,})"),
    ),
    (
        "a Slack token",
        (b"xox",),
        False,
        re.compile(rb"xox[abposr]-[A-Za-z0-9-]{10,}"),
    ),
    ("a GitLab token", (b"glpat-",), False, re.compile(rb"glpat-[A-Za-z0-9_-]{20,}")),
    (
        "a user and password in a URL",
        (b"://",),
        False,
        re.compile(rb"://[^/\s:@\"']+:(?!\[REDACTED\])[^/\s@\"']{3,}@"),
    ),
]

#: Kinds whose match must start a word (checked after the match: a look-behind at the start of
#: the pattern would stop the regular expression engine from searching for its literal prefix).
_WORD_START = frozenset(
    {
        "a Groq key",
        "a Google API key",
        "a Hugging Face token",
        "an AWS access key",
        "a GitHub token",
        "a Slack token",
    }
)
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

#: JSON escapes of printable ASCII (`\u002d`) and of the slash: undone before the search so an
#: escaped key is found (no newline is ever produced, so line numbers still hold).
_JSON_ESCAPE = re.compile(rb"\\u00([2-7][0-9a-fA-F])")


def unescape_json(data: bytes) -> bytes:
    """`data` with `\\u00XX` escapes of printable characters and `\\/` undone."""
    if b"\\" not in data:
        return data
    out = _JSON_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    return out.replace(b"\\/", b"/")


_RAW_IMAGES: list[tuple[str, re.Pattern[bytes]]] = [
    ("JPEG", re.compile(rb"\xff\xd8\xff")),
    ("PNG", re.compile(rb"\x89PNG\r\n\x1a\n")),
    ("GIF", re.compile(rb"GIF8[79]a")),
    ("WebP", re.compile(rb"RIFF.{4}WEBP", re.DOTALL)),
    ("BMP", re.compile(rb"\ABM.{4}\x00\x00\x00\x00", re.DOTALL)),
]

_DATA_URL = re.compile(rb"(?i)data:image/[a-z0-9.+-]*\s*[;,]")
_DIGEST = re.compile(rb"(?i)(;base64)?,\s*sha256:[0-9a-f]{64}")
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_B64_RUN = re.compile(rb"[" + _B64 + rb"]{32,}")
#: How the base64 of each format's first bytes always begins (URL-safe JPEG: `_9j_`).
_B64_STARTS = (b"/9j/", b"_9j_", b"iVBORw0KGgo", b"R0lGOD", b"UklGR", b"Qk")


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    i = data.find(needle)
    while i >= 0:
        yield i
        i = data.find(needle, i + 1)


def image_kind(head: bytes) -> str | None:
    """The image format whose magic number starts `head`, if any."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:2] == b"BM" and len(head) >= 10 and head[6:10] == b"\x00\x00\x00\x00":
        return "BMP"
    return None


def _b64_image(run: bytes) -> str | None:
    prefix = run[:24].replace(b"-", b"+").replace(b"_", b"/")
    try:
        head = base64.b64decode(prefix, validate=True)
    except (binascii.Error, ValueError):
        return None
    return image_kind(head)


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _hint(match: bytes) -> str:
    text = match.decode("utf-8", "replace").strip()
    return (text[:6] + "…") if len(text) > 6 else text


def scan_bytes(data: bytes, name: str) -> list[Finding]:
    """Every secret and image in one file's bytes, in order of position."""
    hits: list[tuple[int, str, str]] = []
    views = [data]
    plain = unescape_json(data)
    if plain != data:
        views.append(plain)
    found: set[tuple[int, str]] = set()
    for view in views:
        lower = view.lower()
        present: dict[tuple[bytes, bool], bool] = {}

        def has(
            n: bytes,
            folded: bool,
            view: bytes = view,
            lower: bytes = lower,
            present: dict[tuple[bytes, bool], bool] = present,
        ) -> bool:
            key = (n, folded)
            if key not in present:
                present[key] = n in (lower if folded else view)
            return present[key]

        for kind, needles, folded, pat in _SECRET_PATTERNS:
            if not any(has(n, folded) for n in needles):
                continue
            for m in pat.finditer(view):
                if kind in _WORD_START and m.start() > 0 and view[m.start() - 1] in _WORD:
                    continue  # inside a longer word: not a token of its own
                line = _line(view, m.start())
                if (line, kind) in found:
                    continue
                found.add((line, kind))
                hits.append((line, kind, f"{_hint(m.group(0))} redacted"))
    for kind, pat in _RAW_IMAGES:
        for m in pat.finditer(data):
            hits.append((_line(data, m.start()), f"{kind} image bytes", f"at byte {m.start()}"))
    if b"data:image" in lower:
        for m in _DATA_URL.finditer(data):
            if not _DIGEST.match(data, m.end() - 1):
                hits.append((_line(data, m.start()), "an image data URL", "with a payload"))
    # JSON may escape slashes; unescaping keeps every newline, so lines still count right
    text = data.replace(b"\\/", b"/") if b"\\/" in data else data
    starts = sorted({i for s in _B64_STARTS for i in _find_all(text, s)})
    for i in starts:
        if i > 0 and text[i - 1] in _B64_CHARS:
            continue  # inside a longer run: not where an encoded file begins
        m = _B64_RUN.match(text, i)
        fmt = _b64_image(m.group(0)) if m else None
        if m is not None and fmt is not None:
            hits.append((_line(text, i), f"base64 {fmt} image", f"{m.end() - i} chars"))
    hits.sort()
    out = [Finding(name, line, kind, hint) for line, kind, hint in hits]
    if len(out) > MAX_PER_FILE:
        rest = len(out) - MAX_PER_FILE
        out = [*out[:MAX_PER_FILE], Finding(name, out[MAX_PER_FILE].line, "more", f"{rest} more")]
    return out


def scan_file(path: Path, name: str | None = None) -> list[Finding]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", name or path) from None
    return scan_bytes(data, name or str(path))


def scan_files(files: Iterable[tuple[Path, str]]) -> list[Finding]:
    """Scans (file on disk, name to report) pairs."""
    out: list[Finding] = []
    for path, name in files:
        out.extend(scan_file(path, name))
    return out
