"""Prices and spending: dollars per million input and output tokens from `--price IN,OUT` or
the table of known models in `prices.toml` (package data), an estimate for `--dry-run`, and
what a run spent from the `usage` its recorded responses report.

Spending counts every recorded response's `prompt_tokens` and `completion_tokens` (reasoning
tokens are part of the latter) at the run's price; cached-input discounts and calls that failed
without an answer (never recorded) are not counted.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError

MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million input (prompt) and output (completion) tokens."""

    input: float
    output: float
    #: "--price", "table: gpt-4o" or "run.json"
    source: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / MILLION

    def as_meta(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output, "source": self.source}

    def label(self) -> str:
        return f"${self.input:g} in / ${self.output:g} out per million tokens ({self.source})"


@cache
def table() -> dict[str, tuple[float, float]]:
    text = resources.files("ger_replay.record").joinpath("prices.toml").read_text("utf-8")
    return {k: (float(v[0]), float(v[1])) for k, v in tomllib.loads(text)["models"].items()}


def parse_price(text: str) -> Price:
    """`IN,OUT` in dollars per million tokens."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(
            f"--price {text!r}: expected IN,OUT in dollars per million tokens (e.g. 2.5,10)"
        ) from None
    if not (a >= 0 and b >= 0) or a == float("inf") or b == float("inf"):
        raise InputError(f"--price {text!r}: prices must be finite and not negative")
    return Price(a, b, "--price")


def known(model: str) -> Price | None:
    """The table's price of `model` (longest matching name), else None."""
    bare = model.rsplit("/", 1)[-1].strip().lower()
    prices = table()
    if bare in prices:
        name = bare
    else:
        starts = [k for k in prices if bare.startswith(k + "-")]
        if not starts:
            return None
        name = max(starts, key=len)
    a, b = prices[name]
    return Price(a, b, f"table: {name}")


def from_meta(meta: Mapping[str, Any]) -> Price | None:
    """The price kept in run.json, else the table's for the run's model."""
    p = meta.get("price")
    if isinstance(p, Mapping):
        try:
            return Price(float(p["input"]), float(p["output"]), str(p.get("source", "run.json")))
        except (KeyError, TypeError, ValueError):
            pass
    model = meta.get("model")
    return known(model) if isinstance(model, str) else None


def usage_of(content: bytes | str) -> tuple[int, int]:
    """(prompt_tokens, completion_tokens) of a chat completion's JSON body; (0, 0) without."""
    try:
        usage = json.loads(content).get("usage") or {}
        p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
    except (ValueError, AttributeError, TypeError, RecursionError):
        return 0, 0  # a hostile answer (absurdly nested, say) reports no usage
    return (p if isinstance(p, int) else 0), (c if isinstance(c, int) else 0)


def run_usage(run_dir: Path) -> tuple[int, int, int]:
    """(responses, prompt_tokens, completion_tokens) over a run's recorded 200 responses."""
    from ger_replay.io import cassettes as io_cassettes
    from ger_replay.io import rundir

    n = p = c = 0
    folder = run_dir / rundir.CASSETTES
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        _, responses = io_cassettes.read_raw(path)
        for resp in responses:
            if int(resp["status"]["code"]) != 200:
                continue
            a, b = usage_of(resp["body"]["string"])
            n, p, c = n + 1, p + a, c + b
    return n, p, c


def money(x: float | None) -> str:
    if x is None:
        return "unknown"
    return f"${x:,.4f}" if x < 1 else f"${x:,.2f}"


def spent_line(price: Price | None, prompt: int, completion: int, what: str) -> str:
    tokens = f"{prompt:,} prompt + {completion:,} completion tokens"
    if price is None:
        return f"{what}: {tokens} (no price known: give --price IN,OUT)"
    return f"{what}: {tokens} = {money(price.cost(prompt, completion))} at {price.label()}"


def total(prices: Iterable[float | None]) -> float | None:
    vals = list(prices)
    return None if any(v is None for v in vals) else float(sum(v for v in vals if v is not None))
