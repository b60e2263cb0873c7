"""What today's chat endpoints want in a request body besides the messages.

- The token limit goes under `max_completion_tokens` for OpenAI's current models (gpt-4o and
  later, gpt-4.1, gpt-5, the o-series reasoning models), which reject `max_tokens` when they
  reason, and under `max_tokens` for everything else (older OpenAI models, most servers of open
  models; vLLM and Ollama take both). `--token-field` overrides the guess.
- Reasoning models (o1, o3, o4-mini, gpt-5...) accept only the default temperature: none is sent
  unless `--param temperature=...` asks for one, and their token limit covers the reasoning too,
  so it defaults higher.
- `--param KEY=VALUE` fields go into the body as given (the value is JSON when it parses as JSON,
  else a string) and win over every default.
- `--response-format json` asks for a JSON object of one entry per sample,
  `{"results": [{"name": "image-1", "result": ["label", ...]}]}`, by a strict `json_schema`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ger_replay.errors import InputError
from ger_replay.protocol.settings import is_reasoning_model as is_reasoning_model
from ger_replay.protocol.settings import token_field_for as token_field_for

#: The default model of `record`: OpenAI's general multimodal model.
DEFAULT_MODEL = "gpt-4o"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
TOKEN_FIELDS: tuple[str, ...] = ("max_completion_tokens", "max_tokens")
#: Default token limit; reasoning models spend part of it on reasoning, so they get more.
DEFAULT_MAX_TOKENS = 1000
REASONING_MAX_TOKENS = 16000
#: Body fields a parameter may not set: the tool writes them itself.
RESERVED = ("model", "messages", "stream", "n")
RESPONSE_FORMATS: tuple[str, ...] = ("text", "json")
#: Field names of credentials: a key never goes into a body (nor, so, into run.json)
CREDENTIAL_NAMES = frozenset(
    {"api_key", "api-key", "apikey", "key", "authorization", "password", "secret", "token",
     "access_token", "bearer"}
)  # fmt: skip


def _check_key(key: str, where: str) -> None:
    if key in RESERVED:
        raise InputError(f"{where} {key}: the tool sets {key!r} itself")
    if key.lower() in CREDENTIAL_NAMES:
        raise InputError(
            f"{where} {key}: a credential never goes into a request body (it would be kept in "
            "run.json and the cassettes); the key is read from OPENAI_API_KEY"
        )


def default_max_tokens(model: str) -> int:
    return REASONING_MAX_TOKENS if is_reasoning_model(model) else DEFAULT_MAX_TOKENS


def default_base_url() -> str:
    """`OPENAI_BASE_URL` when set, else OpenAI's."""
    return os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL


def parse_param(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`: VALUE as JSON when it parses (numbers, true/false/null, objects, lists),
    else the string itself."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"--param {text!r}: expected KEY=VALUE (for example temperature=0.2)")
    _check_key(key, "--param")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """Every `--param`, in order; a key given twice is an error."""
    out: dict[str, Any] = {}
    for item in items:
        k, v = parse_param(item)
        if k in out:
            raise InputError(f"--param {k} is given twice")
        out[k] = v
    return out


def check_params(params: Mapping[str, Any], where: str = "params") -> dict[str, Any]:
    """Parameters read from a file (run.json, a plan): a JSON object without reserved keys."""
    if not isinstance(params, Mapping):
        raise InputError(f"{where} must be a table of body fields, found {type(params).__name__}")
    for k in params:
        if not isinstance(k, str) or not k:
            raise InputError(f"{where}: an empty field name")
        _check_key(k, where)
    return dict(params)


def json_schema_format() -> dict[str, Any]:
    """The `response_format` of `--response-format json`: a strict schema of one entry per
    sample, its name and its labels ranked from most to least likely."""
    entry = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "result": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "result"],
        "additionalProperties": False,
    }
    schema = {
        "type": "object",
        "properties": {"results": {"type": "array", "items": entry}},
        "required": ["results"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "emotion_rankings", "strict": True, "schema": schema},
    }


def body_fields(
    temperature: float | None,
    max_tokens: int,
    token_field: str,
    response_format: str | None,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """The body's fields besides model and messages, in the order they are written."""
    if token_field not in TOKEN_FIELDS:
        raise InputError(f"token field must be one of {', '.join(TOKEN_FIELDS)}, not {token_field}")
    out: dict[str, Any] = {}
    if temperature is not None:
        out["temperature"] = temperature
    if not any(f in params for f in TOKEN_FIELDS):
        out[token_field] = max_tokens
    if response_format == "json":
        out["response_format"] = json_schema_format()
    elif response_format not in (None, "text"):
        raise InputError(f"response format must be text or json, not {response_format!r}")
    out.update(params)
    return out


def create_kwargs(body: Mapping[str, Any]) -> dict[str, Any]:
    """The openai client's `chat.completions.create` arguments for a body: model and messages
    as arguments, every other field through `extra_body`, so that fields the installed client
    does not know (newer parameters, vendor fields) reach the endpoint as given."""
    rest = {k: v for k, v in body.items() if k not in ("model", "messages")}
    return {"model": body["model"], "messages": body["messages"], "extra_body": rest}
