"""A paired comparison (`analysis.paired.compare_runs`) as an aligned text block or JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from ger_replay.analysis.paired import SECTIONS
from ger_replay.report.text_tables import render_text, to_json


def _section_text(value: Any) -> str:
    """A section's result on one line: `key value` pairs for a flat dict of numbers."""
    if isinstance(value, dict) and all(isinstance(v, int | float | None) for v in value.values()):
        return ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in value.items())
    return json.dumps(value, default=str)


FIELDS: Sequence[tuple[str, str]] = (
    ("runs", "run_a"),
    ("dataset", "dataset"),
    ("metric", "metric"),
    ("paired samples", "n_paired"),
    ("a", "value_a"),
    ("b", "value_b"),
    ("b - a", "diff"),
    ("interval", "ci"),
    ("bootstrap p", "p_value"),
    ("McNemar p", "mcnemar_p"),
    ("only a correct", "only_a"),
    ("only b correct", "only_b"),
)


def _fmt(v: Any, p: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if p else f"{v:.2f}"
    return str(v)


def render_comparison(result: dict[str, Any], fmt: str = "table") -> str:
    """A comparison as an aligned text block, JSON, or a two-column (field, value) Markdown or
    CSV table."""
    if fmt == "json":
        return to_json(result)
    lines = _lines(result)
    if fmt in ("markdown", "csv"):
        import polars as pl

        pairs = [ln.strip().split("  ", 1) for ln in lines]
        df = pl.DataFrame(
            {"field": [p[0].strip() for p in pairs], "value": [p[-1].strip() for p in pairs]}
        )
        return render_text(df, fmt)
    return "\n".join(lines)


def _lines(result: dict[str, Any]) -> list[str]:
    conf = result.get("confidence", 0.95)
    lines = []
    for label, key in FIELDS:
        if key == "run_a":
            v = f"a = {result['run_a']}, b = {result['run_b']}"
        elif key == "ci":
            v = f"[{_fmt(result['ci_low'])}, {_fmt(result['ci_high'])}] ({conf * 100:g}%)"
        else:
            v = _fmt(result.get(key), p=key.endswith("_p") or key == "p_value")
        lines.append(f"{label:>15}  {v}")
    for name in SECTIONS:
        lines.append(f"{name.replace('_', ' '):>15}  {_section_text(result.get(name))}")
    return lines
