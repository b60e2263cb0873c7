"""A cheap check of the endpoint before the first batch: `GET {base_url}/models`, which costs
nothing, with the run's key and a short timeout (5 s to connect, 15 s in all).

It fails, naming the URL without user info or query and the likely cause, when nothing listens
(connection refused, unknown host, no answer), when the path is wrong (404/405/501 with no chat
path either, or an answer that is not an OpenAI-style model list: the base URL should be the API
root, usually ending in /v1),
when the key is refused (401/403), and when the model is unknown: neither in the list nor found
by `GET {base_url}/models/{model}`. An endpoint without a model list whose chat path exists (a
`GET {base_url}/chat/completions` that is not 404, also free) passes with a note that the model
was not checked; so does an Azure OpenAI endpoint (`*.openai.azure.com`), whose `model` is a
deployment's name; `--no-preflight` skips the check altogether.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai

from ger_replay.errors import GerReplayError

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
SHOWN_MODELS = 8


class PreflightError(GerReplayError):
    """The endpoint cannot serve the run; the message names the URL and the likely cause."""


@dataclass
class PreflightResult:
    url: str
    models: list[str]
    seconds: float
    #: set when the endpoint has no model list, so the model could not be checked
    note: str = ""

    def as_event(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "models_listed": len(self.models),
            "seconds": round(self.seconds, 3),
            "note": self.note,
        }


def redact_url(url: str) -> str:
    """scheme://host[:port]/path: no user info, no query, no fragment, no secret's value."""
    from ger_replay.io.scrub import clean_url

    return clean_url(url)


def _cause(e: BaseException) -> str:
    """The innermost cause's text (the socket error behind a connection error)."""
    seen: set[int] = set()
    inner: BaseException = e
    while inner.__cause__ is not None and id(inner) not in seen:
        seen.add(id(inner))
        inner = inner.__cause__
    return " ".join(str(inner).split())[:200]


def _connection_hint(e: BaseException, url: str) -> str:
    text = _cause(e).lower()
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    if "refused" in text:
        return (
            f"connection refused at {where}: no server listens on port "
            f"{parts.port or (443 if parts.scheme == 'https' else 80)} (is it running, is the "
            "port right?)"
        )
    if "name or service" in text or "nodename" in text or "resolve" in text:
        return f"the host {parts.hostname!r} cannot be resolved (a typo in the base URL?)"
    if "ssl" in text or "certificate" in text:
        return f"TLS failed at {where} (http:// vs https://?): {_cause(e)}"
    return f"cannot connect to {where}: {_cause(e)}"


def _model_ids(payload: Any) -> list[str] | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return None
    return [str(m["id"]) for m in payload["data"] if isinstance(m, dict) and "id" in m]


def check(
    base_url: str,
    api_key: str,
    model: str,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
) -> PreflightResult:
    """Checks that `base_url` answers, takes the key and serves `model`; raises PreflightError
    within about `total_timeout` + `connect_timeout` seconds otherwise. Makes no paid request."""
    t0 = time.monotonic()
    url = redact_url(base_url).rstrip("/") + "/models"
    client = openai.OpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        timeout=openai.Timeout(total_timeout, connect=connect_timeout),
    )
    note = ""
    try:
        models = _list(client, url)
        if models is None:
            models = []
            note = (
                f"the endpoint lists no models (GET {url}: not found; its chat path answers), "
                "so the model was not checked"
            )
        elif models and model not in models and _names_deployments(base_url):
            note = "Azure OpenAI takes a deployment's name, not a model's: it was not checked"
        elif models and model not in models:
            _find(client, url, model, models)
    finally:
        client.close()
    return PreflightResult(url, models, time.monotonic() - t0, note)


AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


def _names_deployments(base_url: str) -> bool:
    """Azure OpenAI: `model` is a deployment's name, which its model list does not hold."""
    try:
        host = (urlsplit(base_url).hostname or "").lower()
    except ValueError:
        return False
    return host.endswith(AZURE_HOSTS)


def _fail(url: str, cause: str) -> PreflightError:
    return PreflightError(f"preflight GET {url} failed: {cause}; no request was paid for")


def _get(client: openai.OpenAI, model: str | None, url: str) -> Any:
    """The raw HTTP answer of the model list (model None) or of one model."""
    try:
        if model is None:
            return client.models.with_raw_response.list().http_response
        return client.models.with_raw_response.retrieve(model).http_response
    except openai.APITimeoutError:
        raise _fail(
            url, "no answer within the timeout (a wrong host or port, or a stuck server)"
        ) from None
    except openai.APIConnectionError as e:
        raise _fail(url, _connection_hint(e, url)) from None
    except openai.AuthenticationError as e:
        raise _fail(
            url,
            f"the key was refused (HTTP {e.status_code}): check OPENAI_API_KEY for this endpoint",
        ) from None
    except openai.PermissionDeniedError as e:
        raise _fail(
            url, f"the key may not use this endpoint (HTTP {e.status_code}): check its rights"
        ) from None
    except openai.APIStatusError as e:
        if e.status_code in (404, 405, 501):  # no such route, or no GET at all
            raise e from None
        raise _fail(url, f"the endpoint answered HTTP {e.status_code}: {_cause(e)}") from None


def _chat_path_exists(client: openai.OpenAI, url: str) -> bool:
    """Whether `{base}/chat/completions` is a route: a GET (never paid) that is not 404."""
    try:
        client.get("/chat/completions", cast_to=str)
    except openai.NotFoundError:
        return False
    except openai.APIStatusError:
        return True  # 405 method not allowed, 501, 400, 401...: something serves the path
    except (openai.APITimeoutError, openai.APIConnectionError):
        return False
    return True


def _list(client: openai.OpenAI, url: str) -> list[str] | None:
    """The model ids; None when the endpoint has no model list but serves chat completions."""
    try:
        resp = _get(client, None, url)
    except openai.APIStatusError as e:
        if _chat_path_exists(client, url):
            return None
        raise _fail(
            url,
            f"HTTP {e.status_code}: no OpenAI-compatible API at this path; the base URL should "
            "be the API root, usually ending in /v1 (for example http://127.0.0.1:8000/v1)",
        ) from None
    try:
        ids = _model_ids(resp.json())
    except ValueError:
        ids = None
    if ids is None:
        kind = resp.headers.get("content-type", "unknown content").split(";")[0]
        raise _fail(
            url,
            f"the answer ({kind}) is not an OpenAI model list: the base URL is probably not the "
            "API root (usually ending in /v1)",
        )
    return ids


def _find(client: openai.OpenAI, url: str, model: str, models: list[str]) -> None:
    try:
        _get(client, model, url)
    except openai.APIStatusError:
        shown = ", ".join(models[:SHOWN_MODELS])
        more = f" and {len(models) - SHOWN_MODELS} more" if len(models) > SHOWN_MODELS else ""
        raise _fail(
            url,
            f"unknown model {model!r}: the endpoint serves {shown}{more} (check --model; "
            "for a gateway whose list omits it, use --no-preflight)",
        ) from None
