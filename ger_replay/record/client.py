"""The openai client with our own retry policy and a client-side rate limiter.

The key comes from `OPENAI_API_KEY` only; any OpenAI-compatible base URL works. The openai
client's own retries are off (`max_retries=0`): a 429 waits for its Retry-After (and pauses every
worker), 5xx answers, timeouts and cut connections back off exponentially with jitter, and each
of these transient failures is reported to the caller (for the journal) but never recorded in a
cassette. A 400 is a rejection of this request (kept: it is the endpoint's answer); 401, 403 and
404 stop the run.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import random
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import openai

from ger_replay.errors import GerReplayError
from ger_replay.io import scrub
from ger_replay.io.neutral import terminal
from ger_replay.record.endpoint import create_kwargs

KEY_ENV = "OPENAI_API_KEY"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: The longest the client ever waits before a retry (a larger Retry-After is capped, with a note).
MAX_WAIT = 120.0
#: A Retry-After further away than this is nonsense: the client backs off instead.
MAX_RETRY_AFTER = 24 * 3600.0


class FatalApiError(GerReplayError):
    """The endpoint refuses every request (bad key, no such model or path): stop the run."""


class TransientExhausted(GerReplayError):
    """A call kept failing transiently after every retry; its batch is left for a resume."""


class CallStopped(GerReplayError):
    """The run is stopping (Ctrl-C): no new request is made."""


def api_key_from_env() -> str:
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise GerReplayError(f"set {KEY_ENV} to the endpoint's key (it is read from nowhere else)")
    scrub.register(key)
    return key


class RateLimiter:
    """Paces requests evenly under `rpm` requests and `tpm` tokens a minute (either may be None)
    and holds every caller back after a 429 until its Retry-After has passed."""

    LEARN_CAP = 5.0
    RELAX = 0.9

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rpm, self.tpm = rpm, tpm
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._paused_until = 0.0
        #: spacing learned from 429s (seconds), relaxed after each success
        self._learned = 0.0

    def acquire(self, tokens: int = 0) -> float:
        """Blocks until a request of `tokens` may go; returns the seconds waited."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next, self._paused_until)
            step = self._learned
            if self.rpm:
                step = max(step, 60.0 / self.rpm)
            if self.tpm and tokens:
                step = max(step, 60.0 * min(tokens, self.tpm) / self.tpm)
            self._next = slot + step
        wait = slot - now
        if wait > 0:
            self.sleep(wait)
        return max(wait, 0.0)

    def pause(self, seconds: float) -> None:
        """No request goes out for `seconds` from now (a 429's Retry-After); until successes
        relax it, requests are then spaced by that wait (at most LEARN_CAP seconds), so that
        workers do not all rush back at once."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)
            self._learned = max(self._learned, min(seconds, self.LEARN_CAP))

    def relax(self) -> None:
        """A request went through: loosen the learned spacing a little."""
        with self._lock:
            self._learned *= self.RELAX
            if self._learned < 1e-3:
                self._learned = 0.0


def _sane(seconds: float) -> float | None:
    """A wait that makes sense (finite, not negative, under a day), else None."""
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_RETRY_AFTER:
        return None
    return seconds


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After (seconds or an HTTP date) or retry-after-ms, when present and sane; None for
    values that make no sense (inf, nan, negative, more than a day away), so the caller backs
    off instead."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            got = _sane(float(ms) / 1000.0)
            if got is not None:
                return got
        except ValueError:
            pass
    v = headers.get("retry-after")
    if not v:
        return None
    try:
        return _sane(float(v))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(v)
        return _sane(max(when.timestamp() - time.time(), 0.0))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


@dataclass
class RawCall:
    """One call that reached an answer (status 200 or 400): what a cassette keeps."""

    method: str
    url: str
    request_body: bytes
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    content: bytes
    seconds: float


@dataclass
class Transient:
    """A failed try the caller journals: kind, HTTP status, Retry-After, wait before the next."""

    kind: str
    status: int | None
    retry_after: float | None
    wait: float
    message: str


def _raw(resp: Any, seconds: float) -> RawCall:
    req = resp.request
    return RawCall(
        method=req.method,
        url=str(req.url),
        request_body=bytes(req.content),
        request_headers=list(req.headers.multi_items()),
        status=resp.status_code,
        reason=resp.reason_phrase or "",
        response_headers=list(resp.headers.multi_items()),
        content=bytes(resp.content),
        seconds=seconds,
    )


class Client:
    """Chat completions with our retry policy. Thread-safe; share one between workers."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        timeout: float = 120.0,
        max_transient: int = 8,
        max_rate_limited: int = 1000,
        backoff: float = 1.0,
        backoff_cap: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        http_client: Any = None,
    ) -> None:
        self.base_url = scrub.clean_url(base_url)
        self.stop_event: threading.Event | None = None
        self.limiter = RateLimiter(rpm, tpm, sleep=sleep)
        self.max_transient = max_transient
        self.max_rate_limited = max_rate_limited
        self.backoff, self.backoff_cap = backoff, backoff_cap
        self.sleep = sleep
        self._rng = random.Random()
        scrub.register(api_key)
        scrub.register_url(base_url)
        self.openai = openai.OpenAI(
            api_key=api_key if api_key is not None else api_key_from_env(),
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            default_headers={"Accept-Encoding": "gzip"},
            http_client=http_client,
        )

    def _backoff(self, n: int) -> float:
        base = min(self.backoff * (2**n), self.backoff_cap)
        return base * (0.5 + self._rng.random() / 2)

    def chat(
        self,
        body: Mapping[str, Any],
        tokens: int = 0,
        on_transient: Callable[[Transient], None] | None = None,
    ) -> RawCall:
        """One chat completion (`body`: model, messages, temperature, ...), retried through
        transient failures. Returns the raw call for status 200 and 400; raises FatalApiError or
        TransientExhausted."""
        failures = 0
        limited = 0
        while True:
            self._check_stop()
            self.limiter.acquire(tokens)
            self._check_stop()
            t0 = time.monotonic()
            try:
                resp = self.openai.chat.completions.with_raw_response.create(**create_kwargs(body))
                self.limiter.relax()
                return _raw(resp.http_response, time.monotonic() - t0)
            except openai.BadRequestError as e:
                return _raw(e.response, time.monotonic() - t0)
            except openai.RateLimitError as e:
                ra = retry_after_seconds(e.response.headers)
                wait, note = self._wait(ra, limited)
                self.limiter.pause(wait)
                t = Transient("rate_limited", 429, ra, wait, note + _short(e))
            except (
                openai.AuthenticationError,
                openai.PermissionDeniedError,
                openai.NotFoundError,
            ) as e:
                raise FatalApiError(
                    f"the endpoint {self.base_url} refused the request "
                    f"(HTTP {e.status_code}): {_short(e)}"
                ) from None
            except openai.APIStatusError as e:
                if e.status_code < 500 and e.status_code not in (408, 409):
                    raise FatalApiError(
                        f"the endpoint {self.base_url} answered HTTP {e.status_code}: {_short(e)}"
                    ) from None
                ra = retry_after_seconds(e.response.headers)
                wait, note = self._wait(ra, failures)
                t = Transient("server_error", e.status_code, ra, wait, note + _short(e))
            except openai.APITimeoutError as e:
                t = Transient("timeout", None, None, self._backoff(failures), _short(e))
            except openai.APIConnectionError as e:
                t = Transient("connection", None, None, self._backoff(failures), _short(e))
            if t.kind == "rate_limited":
                limited += 1  # the endpoint asked us to wait: not a failure of the call
            else:
                failures += 1
            if on_transient is not None:
                on_transient(t)
            if failures > self.max_transient or limited > self.max_rate_limited:
                raise TransientExhausted(
                    f"gave up after {failures + limited} transient failures "
                    f"(last: {t.kind}: {t.message})"
                )
            if t.kind != "rate_limited":
                self.sleep(t.wait)

    def _check_stop(self) -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            raise CallStopped("stopping: no new request")

    def _wait(self, retry_after: float | None, n: int) -> tuple[float, str]:
        """The wait before the next try (a sane Retry-After, else backoff), capped at MAX_WAIT;
        the note says when the cap applied."""
        wait = retry_after if retry_after is not None else self._backoff(n)
        if wait > MAX_WAIT:
            return MAX_WAIT, f"(asked to wait {wait:.0f} s: capped at {MAX_WAIT:.0f} s) "
        return wait, ""

    def close(self) -> None:
        self.openai.close()


def _short(e: BaseException, limit: int = 200) -> str:
    """An error message fit to print and keep: secrets scrubbed, control characters removed."""
    s = terminal(scrub.scrub_text(" ".join(str(e).split())))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A rough prompt-token estimate: text at ~4 characters a token, images by OpenAI's tile
    rule from the JPEG's own size (85 + 170 per 512-pixel tile after the API's rescaling)."""
    n = 0
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            n += len(content) // 4 + 4
            continue
        for part in content or []:
            if part.get("type") == "text":
                n += len(part.get("text", "")) // 4 + 1
            elif part.get("type") == "image_url":
                iu = part.get("image_url") or {}
                n += image_tokens(iu.get("url", ""), iu.get("detail", "auto"))
    return n


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding it."""
    i = 2
    if not data.startswith(b"\xff\xd8"):
        return None
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def image_tokens(url: str, detail: str = "auto") -> int:
    """OpenAI's published cost of one image: 85 at low detail; otherwise the image is fitted in
    2048x2048, its short side scaled to 768, and each 512-pixel tile costs 170 more."""
    if detail == "low":
        return 85
    size = None
    if url.startswith("data:") and ";base64," in url[:100]:
        try:
            head = base64.b64decode(url.split(",", 1)[1][:65536], validate=False)
            size = jpeg_size(head)
        except (binascii.Error, ValueError, struct.error):
            size = None
    if size is None:
        return 85 + 170 * 4
    w, h = size
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
