"""Rows as indented JSON, NaN as null: the text of `json.dumps(..., indent=2)` with every NaN
replaced by null (and floats rounded, if asked). Plain values (dict with str keys, list, tuple,
str, int, float, bool, None) are written by the Rust core, byte for byte as the standard
encoder writes them; anything else (subclasses such as numpy floats or enums included) sends
the whole document to the standard encoder, whose indented mode is a pure-Python generator
chain, many times slower on thousands of score rows."""

from __future__ import annotations

import json
import math
from typing import Any

import ger_replay._core as _core


def clean(v: Any, digits: int | None) -> Any:
    """`v` with every NaN as None and floats rounded to `digits`, walking dicts, lists and
    tuples (tuples become lists): what the JSON text means."""
    if isinstance(v, float):
        return None if math.isnan(v) else (v if digits is None else round(v, digits))
    if isinstance(v, dict):
        return {k: clean(x, digits) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [clean(x, digits) for x in v]
    return v


def dumps(value: Any, digits: int | None = None) -> str:
    """`value` as JSON indented by two spaces, NaN as null, floats rounded to `digits`."""
    text = _core.json_dumps(value, digits)
    if text is not None:
        return text
    return json.dumps(clean(value, digits), indent=2)


__all__ = ["clean", "dumps"]
