"""An OpenAI-compatible chat completions server on loopback, for tests and demos.

`POST /v1/chat/completions` (non-streaming) and `GET /v1/models`. Each request's items are found
from its parts: labelled images (`image-{i}`, `video{i}_image{j}`) group by their label, and each
image's digest names its sample; a request with no image is one item per text part. An item's
ranking depends on the seed, the sample, the prompt and the item's images only, so a sample gets
the same answer in any batch. Faults (refusals, dropped items, 500s, slow answers, cut
connections) are drawn from the seed, the request's key and how many times that same key was
seen before: a run is reproducible, and a retried request can succeed. The key is what the request
asks, not how a client spells it: the model, the prompt and each item's sample id (or its image
digests and texts when the sample is unknown), in order. Two client versions that serialise the
same request differently (field order, whitespace, extra default fields) meet the same faults.
Above `rpm_limit` the server answers 429 with Retry-After (a token bucket refilled at
rpm_limit / 60 per second).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.status import Status
from ger_replay.record.messages import digest_of_url
from ger_replay.record.sim.answers import (
    INVENTED,
    REFUSAL,
    SHAPES,
    Item,
    Oracle,
    compose_answer,
    compose_json,
    item_name,
    wants_json,
)
from ger_replay.record.sim.gate import Gate
from ger_replay.record.sim.index import MediaIndex
from ger_replay.record.sim.limits import Faults, TokenBucket, check_loopback

_LABEL = re.compile(r"^\s*(?:image-(\d+)|video(\d+)_image(\d+))\s*$")
CREATED = 1_700_000_000


@dataclass
class Engine:
    """Everything but HTTP: turns a request body into a response (or a fault)."""

    dataset: Dataset
    index: MediaIndex
    oracle: Oracle
    faults: Faults
    seed: int = 0
    #: the key, the models served and the GET routes (sim/gate.py)
    gate: Gate = field(default_factory=Gate)
    seen: Counter[str] = field(default_factory=Counter)
    stats: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rng(self, *parts: object) -> random.Random:
        h = hashlib.sha256(repr((self.seed, *parts)).encode("utf-8")).digest()
        return random.Random(int.from_bytes(h[:16], "big"))

    def occurrence(self, body_key: str) -> int:
        with self.lock:
            n = self.seen[body_key]
            self.seen[body_key] += 1
            return n

    def count(self, what: str) -> None:
        with self.lock:
            self.stats[what] += 1

    def items(self, content: list[Any]) -> tuple[str, str, list[tuple[str | None, list[str]]]]:
        """The prompt, the kind of item (image, video, text) and each item's sample id and
        image digests, in order."""
        prompt = ""
        groups: dict[tuple[str, int], list[str]] = {}
        texts: list[str] = []
        label: tuple[str, int] | None = None
        kind = "image"
        loose = 0
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                text = str(part.get("text", ""))
                m = _LABEL.match(text)
                if m:
                    if m.group(1) is not None:
                        label = ("image", int(m.group(1)))
                    else:
                        label = ("video", int(m.group(2)))
                        kind = "video"
                elif not prompt:
                    prompt = text
                else:
                    texts.append(text)
            elif part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                try:
                    digest = digest_of_url(str(url))
                except ValueError:
                    digest = "sha256:unreadable"
                key = label if label is not None else ("loose", (loose := loose + 1))
                groups.setdefault(key, []).append(digest)
        out: list[tuple[str | None, list[str]]] = []
        if groups:
            for digests in groups.values():
                sids = [s for d in digests if (s := self.index.sample_of_image(d)) is not None]
                sid = Counter(sids).most_common(1)[0][0] if sids else None
                out.append((sid, digests))
            return prompt, kind, out
        return prompt, "text", [(self.index.sample_of_text(t), [t]) for t in texts]

    def answer(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """("cut" | "error" | "ok", payload); "ok" may have slept first."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        content: list[Any] = []
        for m in messages:
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, list):
                content.extend(c)
            elif isinstance(c, str):
                content.append({"type": "text", "text": c})
        prompt, kind, items = self.items(content)
        body_key = request_key(str(body.get("model", "")), prompt, items)
        n_seen = self.occurrence(body_key)
        rng = self.rng("request", body_key, n_seen)
        f = self.faults
        if rng.random() < f.cut_rate:
            self.count("cut")
            return "cut", {}
        if rng.random() < f.error_rate:
            self.count("error")
            return "error", {"error": {"message": "simulated server error", "type": "server_error"}}
        if rng.random() < f.slow_rate:
            self.count("slow")
            time.sleep(f.slow_seconds)
        if rng.random() < f.refuse_rate:
            self.count(Status.REFUSED.value)
            text = REFUSAL
        else:
            answered: list[Item] = []
            for i, (sid, digests) in enumerate(items, 1):
                sample = self.index.samples.get(sid) if sid is not None else None
                item_rng = self.rng("item", sid if sid is not None else digests, prompt, digests)
                ranking = self.oracle.ranking(sample.gt if sample else None, item_rng)
                if rng.random() < f.invent_rate:
                    ranking = (rng.choice(INVENTED), *ranking)
                answered.append(Item(item_name(kind, i, rng), ranking))
            if answered and rng.random() < f.drop_rate:
                del answered[rng.randrange(len(answered))]
                self.count("dropped")
            shape = rng.choice(SHAPES)
            if wants_json(body):
                self.count("json")
                text = compose_json(answered)
            else:
                text = compose_answer(answered, shape, rng, kind)
        self.count("answered")
        return "ok", self.completion(body, body_key, n_seen, text, content)

    def completion(
        self, body: dict[str, Any], key: str, n: int, text: str, content: list[Any]
    ) -> dict[str, Any]:
        prompt_tokens = 0
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                prompt_tokens += math.ceil(len(str(part.get("text", ""))) / 4)
            elif isinstance(part, dict) and part.get("type") == "image_url":
                prompt_tokens += image_tokens(part.get("image_url"))
        completion_tokens = math.ceil(len(text) / 4)
        return {
            "id": "chatcmpl-sim-" + hashlib.sha256(f"{key}:{n}".encode()).hexdigest()[:24],
            "object": "chat.completion",
            "created": CREATED,
            "model": str(body.get("model", "simulator")),
            "system_fingerprint": "ger-replay-simulator",
            "choices": [
                {
                    "index": 0,
                    "message": _message(text, wants_json(body) and text == REFUSAL),
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _message(text: str, refused_json: bool) -> dict[str, Any]:
    """The assistant message; a refusal of JSON output comes as OpenAI sends it: no content,
    the words in `refusal`."""
    if refused_json:
        return {"role": "assistant", "content": None, "refusal": text}
    return {"role": "assistant", "content": text}


def request_key(model: str, prompt: str, items: list[tuple[str | None, list[str]]]) -> str:
    """What a request asks, independent of its bytes: model, prompt and items in order."""
    parts = [sid if sid is not None else digests for sid, digests in items]
    canonical = json.dumps([model, prompt, parts], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def image_tokens(image: Any) -> int:
    """An estimate of an image's prompt tokens: 85 at low detail, else 85 + 170 per 512-pixel
    tile after scaling to fit 2048 and then to a shortest side of 768."""
    if not isinstance(image, dict):
        return 85
    if image.get("detail") == "low":
        return 85
    url = str(image.get("url", ""))
    _, sep, payload = url.partition(";base64,")
    if not sep:
        return 85
    img = cv2.imdecode(np.frombuffer(base64.b64decode(payload), np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        return 85
    h, w = img.shape[:2]
    s = min(1.0, 2048 / max(w, h))
    w, h = w * s, h * s
    s = min(1.0, 768 / min(w, h))
    w, h = w * s, h * s
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def make_handler(engine: Engine, bucket: TokenBucket | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ger-replay-simulator"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
            self._send(status, {"error": {"message": message, "type": kind}}, {})

        def _refused(self) -> bool:
            denied = engine.gate.auth(self.headers.get("Authorization", ""))
            if denied is not None:
                engine.count("unauthorised")
                self._send(*denied, {})
            return denied is not None

        def do_GET(self) -> None:
            if not self._refused():
                status, payload = engine.gate.get(self.path)
                engine.count("models" if status == 200 else "get_refused")
                self._send(status, payload, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._error(404, f"no route {self.path}")
                return
            if self._refused():
                return
            engine.count("requests")
            if bucket is not None:
                wait = bucket.take()
                if wait > 0:
                    engine.count("rate_limited")
                    headers = {
                        "Retry-After": str(max(1, math.ceil(wait))),
                        "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
                    }
                    msg = "Rate limit reached for requests (simulated)"
                    err = {"message": msg, "type": "requests", "code": "rate_limit_exceeded"}
                    self._send(429, {"error": err}, headers)
                    return
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                if body.get("stream"):
                    raise ValueError("the simulator does not stream; send stream=false")
                unknown = engine.gate.model(str(body.get("model", "")))
                if unknown is not None:
                    self._send(*unknown, {})
                    return
                outcome, payload = engine.answer(body)
            except (ValueError, json.JSONDecodeError) as e:
                self._error(400, str(e))
                return
            if outcome == "cut":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if outcome == "error":
                self._send(500, payload, {})
                return
            self._send(200, payload, {})

    return Handler


class SimulatorServer:
    """A running simulator: `.url` ends in /v1; `.stop()` or use it as a context manager."""

    def __init__(self, engine: Engine, host: str, port: int):
        check_loopback(host)
        self.engine = engine
        bucket = (
            TokenBucket(engine.faults.rpm_limit, engine.faults.rpm_burst)
            if engine.faults.rpm_limit
            else None
        )
        handler = make_handler(engine, bucket)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class _Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up (or a connection cut on purpose) is no error

        self.httpd = _Server((host, port), handler)
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name="ger-replay-simulator", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def stats(self) -> dict[str, int]:
        with self.engine.lock:
            return dict(self.engine.stats)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
