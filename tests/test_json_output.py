"""Score rows as JSON: NaN anywhere becomes null, and nothing else changes (strings and keys
that spell NaN are kept)."""

from __future__ import annotations

import json
import math
from typing import Any

from ger_replay.report.tables import render_scores


def _clean(v: Any) -> Any:
    """NaN to None, walking every value: what the JSON must mean."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def test_nan_values_become_null_and_strings_stay() -> None:
    nan = float("nan")
    rows = [
        {
            "run": "NaN",
            "value": nan,
            "per_class": {"NaN": nan, 'k": NaN': 1.5, "x": "NaN", "y": [nan, 2.0, nan]},
            "pair": (nan, "NaN,"),
            "none": None,
        },
        {"run": "b", "value": 1e-05, "per_class": {}},
    ]
    text = render_scores(rows, "json")
    assert text == json.dumps(_clean(rows), indent=2)
    back = json.loads(text)
    assert back[0]["value"] is None and back[0]["per_class"]["NaN"] is None
    assert back[0]["per_class"]['k": NaN'] == 1.5 and back[0]["per_class"]["x"] == "NaN"
    assert back[0]["per_class"]["y"] == [None, 2.0, None] and back[0]["pair"] == [None, "NaN,"]
    assert "NaN," not in text.replace('"NaN,"', "")
