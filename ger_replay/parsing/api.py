"""The answer parser of the Rust core, with Python's sequence types accepted."""

from __future__ import annotations

from collections.abc import Sequence

import ger_replay._core as _core
from ger_replay._core import ParseResult

Synonyms = Sequence[tuple[str, str]] | None


def _pairs(synonyms: Synonyms) -> list[tuple[str, str]] | None:
    return None if synonyms is None else [(str(a), str(b)) for a, b in synonyms]


def parse_response(
    text: str, n_items: int, labels: Sequence[str], synonyms: Synonyms = None
) -> ParseResult:
    """Parses one answer for a batch of `n_items` samples against the candidate `labels`.

    `synonyms` extends the default table of PROTOCOL.md part 3 with (variant, canonical) pairs.
    Status is "ok" only when exactly `n_items` items were found."""
    return _core.parse_response(text, n_items, list(labels), _pairs(synonyms))


def parse_responses(
    texts: Sequence[str],
    n_items: int | Sequence[int],
    labels: Sequence[str],
    synonyms: Synonyms = None,
) -> list[ParseResult]:
    """Parses many answers in parallel with the GIL released; results keep the input order.
    `n_items` is one count for every answer or one count per answer."""
    counts = n_items if isinstance(n_items, int) else list(n_items)
    return _core.parse_responses(list(texts), counts, list(labels), _pairs(synonyms))


def refusal_patterns() -> list[tuple[str, str]]:
    """The refusal wordings as (id, regular expression), in the order they are tried."""
    return list(_core.refusal_patterns())
