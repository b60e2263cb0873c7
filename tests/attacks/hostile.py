"""A hostile OpenAI-compatible endpoint on loopback, for the attack tests.

Each mode misbehaves in one way a real endpoint (or a proxy in front of it) could:

- `echo`: answers 200, repeating the caller's key (plain, `\\u`-escaped, `\\/`-escaped) and the
  request's URL (query string included) inside the answer.
- `echo400`: rejects with a 400 whose error message holds the key.
- `echo401`: refuses with a 401 whose message holds the key.
- `echo429` / `echo500`: the first try of each request fails with a message holding the key.
- `badutf8`: answers 200 with one byte that is not UTF-8 inside the answer.
- `retry`: the first try of each request is a 429 with `Retry-After: <retry_after>`.
- `slow`: every answer takes `slow` seconds.
- `deep`: answers 200 with JSON nested 100,000 levels deep.

The server counts requests and keeps the time each one arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LABELS = ["Happy", "Sad", "Angry", "Neutral"]


def _items(body: dict[str, Any]) -> int:
    n = 0
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, list):
            n += sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return max(n, 1)


def answer_text(n: int) -> str:
    return "\n".join(f"{i + 1}. {LABELS[i % len(LABELS)]}" for i in range(n))


def escaped(key: str) -> str:
    """The key as a JSON text may spell it: every character `\\u`-escaped."""
    return "".join(f"\\u{ord(c):04x}" for c in key)


class Hostile:
    def __init__(self, mode: str, retry_after: str = "inf", slow: float = 1.0) -> None:
        self.mode = mode
        self.retry_after = retry_after
        self.slow = slow
        self.requests = 0
        self.arrivals: list[float] = []
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                with outer.lock:
                    outer.requests += 1
                    outer.arrivals.append(time.monotonic())
                    first = outer.seen[raw.hex()[:4000]] == 0
                    outer.seen[raw.hex()[:4000]] += 1
                key = self.headers.get("authorization", "").removeprefix("Bearer ")
                body = json.loads(raw)
                n = _items(body)
                mode = outer.mode
                if mode == "slow":
                    time.sleep(outer.slow)
                if mode == "deep":  # an answer nested far deeper than any parser recurses
                    deep = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
                    return self._send(200, deep.encode())
                if mode == "echo401":
                    return self._error(401, f"Incorrect API key provided: {key}")
                if mode == "echo400":
                    return self._error(400, f"bad request from key {key}")
                if mode == "echo429" and first:
                    return self._error(429, f"slow down, {key}", {"retry-after": "0"})
                if mode == "echo500" and first:
                    return self._error(500, f"internal error for {key}")
                if mode == "retry" and first:
                    return self._error(429, "rate limited", {"retry-after": outer.retry_after})
                text = answer_text(n)
                if mode == "badutf8":
                    text += "\n(note)"
                if mode == "echo":
                    text += f"\nyour key: {key}\nyour url: {self.path}"
                payload = json.dumps(_completion(text, body.get("model", "m")))
                if mode == "echo":
                    # the key once more, as JSON may escape it (no fixed form to search for)
                    payload = payload[:-1] + f', "debug": "{escaped(key)}"}}'
                data = payload.encode()
                if mode == "badutf8":
                    data = data.replace(b"(note)", b"(no\xffte)", 1)
                if mode == "echo":  # in the reason phrase and the content type too
                    ctype = f"application/json; charset=utf-8; token={key}"
                    return self._send(200, data, reason=f"OK {key}", ctype=ctype)
                self._send(200, data)

            def _error(
                self, code: int, message: str, headers: dict[str, str] | None = None
            ) -> None:
                err = {"error": {"message": message, "type": "error", "code": code}}
                self._send(code, json.dumps(err).encode(), headers)

            def _send(
                self,
                code: int,
                data: bytes,
                headers: dict[str, str] | None = None,
                reason: str | None = None,
                ctype: str = "application/json",
            ) -> None:
                self.send_response(code, reason)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
