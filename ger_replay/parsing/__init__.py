"""Model answers to rankings: the Rust parser (`api`), its pure-Python reference (`reference`)
and user synonym files (`synonyms`)."""

from __future__ import annotations

from ger_replay.parsing.api import ParseResult, parse_response, parse_responses, refusal_patterns
from ger_replay.parsing.synonyms import load_synonyms

__all__ = [
    "ParseResult",
    "load_synonyms",
    "parse_response",
    "parse_responses",
    "refusal_patterns",
]
