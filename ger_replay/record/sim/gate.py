"""What the simulator lets through before it answers: the key (401 without
`Authorization: Bearer <key>` when one is set), the models it serves (404 model_not_found for
others; any name when none are set), and its GET routes: `/v1/models`, `/v1/models/{id}` and a
405 for GET on the chat path (so a client can tell the path exists without asking anything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CREATED = 1_700_000_000
Reply = tuple[int, dict[str, Any]]


def _error(status: int, message: str, code: str | None = None) -> Reply:
    err: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
    if code is not None:
        err["code"] = code
    return status, {"error": err}


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "ger-replay"}


@dataclass(frozen=True)
class Gate:
    api_key: str | None = None
    models: tuple[str, ...] | None = None
    #: False: no GET /v1/models route (as some gateways and bare servers)
    list_models: bool = True

    def auth(self, authorization: str) -> Reply | None:
        """None when the request may pass, else the 401 to send."""
        if self.api_key is None or authorization == f"Bearer {self.api_key}":
            return None
        return _error(401, "Incorrect API key provided (simulated)", "invalid_api_key")

    def model(self, name: str) -> Reply | None:
        """None when the model is served, else the 404 to send."""
        if self.models is None or name in self.models:
            return None
        return _error(404, f"The model `{name}` does not exist (simulated)", "model_not_found")

    def get(self, raw_path: str) -> Reply:
        """The answer to a GET (the key is checked before, by `auth`)."""
        path = raw_path.split("?", 1)[0].rstrip("/")
        if path == "/v1/chat/completions":
            return _error(405, "use POST")
        if not self.list_models or not path.startswith("/v1/models"):
            return _error(404, f"no route {raw_path}")
        served = self.models if self.models is not None else ("simulator",)
        if path == "/v1/models":
            return 200, {"object": "list", "data": [_model(m) for m in served]}
        name = path.removeprefix("/v1/models/")
        if path.startswith("/v1/models/") and self.model(name) is None:
            return 200, _model(name)
        return self.model(name) or _error(404, f"no route {raw_path}")
