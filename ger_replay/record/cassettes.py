"""Cassettes: the vcrpy configuration (scrubbing, image digests, canonical bodies, matching) and
the reading and atomic writing of one JSON cassette per batch.

Recording captures each call's request and response from the openai client and passes them
through the same vcrpy filters a vcrpy recording would (`scrub_request`, `scrub_response`), then
serializes them with vcrpy's own serializer; replay uses vcrpy itself (`make_vcr`). A cassette
written here is therefore a plain vcrpy cassette that vcrpy replays without this package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

import vcr
from vcr.request import Request
from vcr.serialize import serialize
from vcr.serializers import jsonserializer

from ger_replay.errors import InputError
from ger_replay.io import cassettes as stored
from ger_replay.io import scrub
from ger_replay.io.cassettes import answer_text as answer_text
from ger_replay.io.cassettes import calls_of
from ger_replay.io.cassettes import read_raw as read_raw
from ger_replay.io.rundir import atomic_write_text

#: The only headers kept on requests and responses: nothing else can carry a secret.
KEEP_HEADERS = frozenset({"content-type"})
#: Named for vcrpy's `filter_headers` too (belt and braces: the whitelist already drops them).
SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
)
#: The raw bytes of a response body that is not valid UTF-8, base64, beside `string` (which
#: holds them decoded with replacement, for parsing): nothing paid for is lost.
RAW_BODY = "ger_raw_base64"
MATCHER = "ger_body_digest"
MATCH_ON = ("method", "path", MATCHER)
DIGEST_PREFIX = "sha256:"
_DATA_URL = "data:"
_B64_MARK = ";base64,"


def image_digest(data_url: str) -> str:
    """`sha256:<hex>` of the decoded bytes of a base64 data URL (idempotent on a digest)."""
    if data_url.startswith(DIGEST_PREFIX):
        return data_url
    payload = data_url.split(_B64_MARK, 1)[1]
    try:
        raw = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raw = payload.encode()
    return DIGEST_PREFIX + hashlib.sha256(raw).hexdigest()


def digest_images(obj: Any) -> Any:
    """A copy of a JSON value with every base64 data URL replaced by its digest."""
    if isinstance(obj, str):
        if obj.startswith(_DATA_URL) and _B64_MARK in obj[:200]:
            return image_digest(obj)
        return obj
    if isinstance(obj, list):
        return [digest_images(v) for v in obj]
    if isinstance(obj, dict):
        return {k: digest_images(v) for k, v in obj.items()}
    return obj


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class _Cache:
    """A small thread-safe LRU of body bytes -> canonical body: vcrpy filters the same live
    request several times per lookup, and a request body can hold megabytes of images."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.data: OrderedDict[bytes, bytes] = OrderedDict()
        self.lock = Lock()

    def get(self, key: bytes) -> bytes | None:
        with self.lock:
            v = self.data.get(key)
            if v is not None:
                self.data.move_to_end(key)
            return v

    def put(self, key: bytes, value: bytes) -> None:
        with self.lock:
            self.data[key] = value
            self.data[value] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_CANON = _Cache()


def canonical_body(body: bytes | str | None) -> bytes | None:
    """Canonical JSON with image digests; a body that is not JSON is returned unchanged."""
    if body is None:
        return None
    raw = body.encode() if isinstance(body, str) else bytes(body)
    hit = _CANON.get(raw)
    if hit is not None:
        return hit
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    out = canonical_json(digest_images(obj))
    _CANON.put(raw, out)
    return out


def body_digest(body: bytes | str | None) -> str:
    canon = canonical_body(body) or b""
    return hashlib.sha256(canon).hexdigest()


def clean_url(url: str) -> str:
    """The URL without user info, query or fragment (see `io.scrub.clean_url`)."""
    return scrub.clean_url(url)


def _keep_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in headers.items() if k.lower() in KEEP_HEADERS}


def scrub_request(request: Request) -> Request:
    """vcrpy `before_record_request`: whitelist headers, clean the URL, canonical digested body.
    Idempotent: vcrpy applies it to live, recorded and loaded requests alike."""
    request.headers = _keep_headers(request.headers)
    request.uri = clean_url(request.uri)
    request.body = canonical_body(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy `before_record_response`: whitelist headers (no cookies, organization or ids)."""
    response["headers"] = _keep_headers(response.get("headers", {}))
    return response


def body_matcher(r1: Request, r2: Request) -> None:
    """vcrpy matcher: the digests of the canonical bodies are equal."""
    d1, d2 = body_digest(r1.body), body_digest(r2.body)
    if d1 != d2:
        raise AssertionError(f"body digest {d1[:12]} != {d2[:12]}")


class RunPersister:
    """A vcrpy persister that loads one cassette file, or every cassette of a folder as one
    (a run's `cassettes/`), so a whole run replays under a single `use_cassette`. It never
    writes: replay records nothing."""

    @classmethod
    def load_cassette(cls, cassette_path: str | Path, serializer: Any) -> tuple[list, list]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not files or not all(f.is_file() for f in files):
            raise CassetteNotFoundError()
        requests: list[Request] = []
        responses: list[dict[str, Any]] = []
        for f in files:
            try:
                got = deserialize(stored.read_text(f), serializer)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise InputError(f"not a readable cassette: {e}", f) from None
            requests.extend(got[0])
            responses.extend(got[1])
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: Any, serializer: Any) -> None:
        raise RuntimeError(f"replay never writes cassettes ({cassette_path})")


def make_vcr(record_mode: str = "none") -> vcr.VCR:
    """The project's vcrpy configuration (DESIGN.md, "Facts about vcrpy")."""
    v = vcr.VCR(
        serializer="json",
        record_mode=record_mode,
        match_on=MATCH_ON,
        filter_headers=SECRET_HEADERS,
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
    )
    v.register_matcher(MATCHER, body_matcher)
    v.register_persister(RunPersister)
    return v


@dataclass
class Interaction:
    """One recorded call, already scrubbed."""

    request: Request
    response: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return int(self.response["status"]["code"])

    @property
    def body_text(self) -> str:
        s = self.response["body"]["string"]
        return s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s)


#: The request and response filters of `make_vcr` (the response is decoded before capture).
_FILTER_REQUEST = scrub_request
_FILTER_RESPONSE = scrub_response


def capture(
    method: str,
    url: str,
    body: bytes,
    request_headers: Iterable[tuple[str, str]],
    status: int,
    reason: str,
    response_headers: Iterable[tuple[str, str]],
    content: bytes,
    meta: Mapping[str, Any] | None = None,
) -> Interaction:
    """An interaction from a live call, through the vcrpy filters of `make_vcr`. `content` is the
    decoded response body (httpx decodes gzip). Every credential's value is scrubbed from the
    body; a body that is not UTF-8 keeps its raw bytes (base64) beside the decoded text."""
    req = _FILTER_REQUEST(Request(method, url, body, dict(request_headers)))
    content = scrub.scrub_bytes(content)
    try:
        text = scrub.scrub_json_text(content.decode("utf-8"))
        body_dict: dict[str, Any] = {"string": text}
    except UnicodeDecodeError:
        text = scrub.scrub_json_text(content.decode("utf-8", "replace"))
        body_dict = {"string": text, RAW_BODY: base64.b64encode(content).decode("ascii")}
    headers: dict[str, list[str]] = {}
    for k, v in response_headers:
        if k.lower() != "content-encoding":
            headers.setdefault(k, []).append(scrub.scrub_text(v))
    reason = scrub.scrub_text(reason)
    resp = _FILTER_RESPONSE(
        {
            "status": {"code": status, "message": reason},
            "headers": headers,
            "body": body_dict,
        }
    )
    return Interaction(req, resp, dict(meta or {}))


def to_record(it: Interaction) -> dict[str, Any]:
    """An interaction as plain JSON (for the journal): request, response and call metadata."""
    from vcr.serializers.compat import convert_to_unicode

    return {
        "request": convert_to_unicode(it.request._to_dict()),
        "response": convert_to_unicode(dict(it.response)),
        "meta": dict(it.meta),
    }


def from_record(rec: Any) -> Interaction | None:
    """`to_record` undone; None for a record without the expected shape."""
    try:
        req = Request._from_dict(dict(rec["request"]))
        resp = dict(rec["response"])
        int(resp["status"]["code"])
        if not isinstance(resp["body"]["string"], str):
            return None
        return Interaction(_FILTER_REQUEST(req), resp, dict(rec["meta"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def dumps(interactions: Sequence[Interaction], metadata: Mapping[str, Any]) -> str:
    """A vcrpy JSON cassette holding the interactions, with our metadata beside them."""
    data = {
        "requests": [i.request for i in interactions],
        "responses": [i.response for i in interactions],
        "metadata": dict(metadata),
    }
    return serialize(data, jsonserializer)


def write(path: Path, interactions: Sequence[Interaction], batch: str) -> None:
    """Writes a batch's cassette atomically."""
    meta = {"ger_replay": {"batch": batch, "calls": [i.meta for i in interactions]}}
    atomic_write_text(path, scrub.scrub_text(dumps(interactions, meta)))


def read(path: Path) -> list[Interaction]:
    """A cassette written by `write`, with each interaction's call metadata."""
    from vcr.serialize import deserialize

    text = stored.read_text(path)  # bounded: a link, size or depth is an InputError
    try:
        got = deserialize(text, jsonserializer)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError(f"not a readable cassette: {e}", path) from None
    requests, responses = got[0], got[1]
    calls = calls_of(got[2] if len(got) > 2 else {}, len(requests), path)
    return [
        Interaction(_FILTER_REQUEST(rq), rs, c)
        for rq, rs, c in zip(requests, responses, calls, strict=True)
    ]
