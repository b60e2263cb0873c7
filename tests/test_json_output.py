"""Score rows as JSON: NaN anywhere becomes null, floats are rounded, and nothing else changes
(strings and keys that spell NaN are kept)."""

from __future__ import annotations

import csv
import enum
import io
import json
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import ger_replay._core as _core
from ger_replay.io.neutral import csv_cell
from ger_replay.report import json_text
from ger_replay.report.tables import CSV_KEYS, JSON_DIGITS, render_scores


class Mode(enum.IntEnum):
    B = 2


class Name(enum.StrEnum):
    X = "x é"


def _clean(v: Any) -> Any:
    """NaN to None and floats rounded, walking every value: what the JSON must mean."""
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, JSON_DIGITS)
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


def test_every_plain_value_encodes_as_the_standard_encoder() -> None:
    doc = [
        {},
        [],
        {"é": 'ünïcode \u2603 "quoted" \\ \n\t', "inf": float("inf"), "-inf": -float("inf")},
        {"n": [1, -2, 3.0, 1e300, -0.0, 5e-324, True, False, None, [], {}, [[]], ({"a": ()},)]},
        {"big": 10**30, "nested": {"a": {"b": {"c": [1.5, "x"]}}}},
    ]
    assert render_scores(doc, "json") == json.dumps(_clean(doc), indent=2)
    # subclasses of float, int and str (numpy floats, enums) as the standard encoder writes them
    sub = [
        {"f": np.float64(0.1) + np.float64(0.2), "i": Mode.B, "s": Name.X, "n": np.float64("nan")}
    ]
    assert render_scores(sub, "json") == json.dumps(_clean(sub), indent=2)
    # keys that are not strings take the standard encoder's path, with the same meaning
    odd = [{1: 2.5, None: float("nan"), 2.5: "x"}]
    assert render_scores(odd, "json") == json.dumps(_clean(odd), indent=2)


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1000, max_value=1000).map(lambda x: x / 3)
    | st.sampled_from([1 / 2048, 2.675, 1e-5, 1e16, 1e15, -0.0, 5e-324])
    # large values with few fractional bits: some lie halfway between two shortest reprs
    | st.integers(min_value=2**49, max_value=2**55).map(lambda k: k / 4)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(doc=plain, digits=st.sampled_from([None, 0, 2, 10]))
def test_plain_values_encode_as_the_standard_encoder(doc: Any, digits: int | None) -> None:
    assert json_text.dumps(doc, digits) == json.dumps(json_text.clean(doc, digits), indent=2)


def test_floats_halfway_between_two_shortest_reprs_take_the_even_digit() -> None:
    # 2^49 + k/4: every other value is halfway between two 16-digit candidates (...312.25 is
    # as near ...312.2 as ...312.3); Python's repr takes the even last digit
    values = [2.0**49 + k / 4 for k in range(4000)] + [-(2.0**51) - k / 4 for k in range(400)]
    assert json_text.dumps(values, 10) == json.dumps(json_text.clean(values, 10), indent=2)
    assert json_text.dumps([562949953421312.25], None) == "[\n  562949953421312.2\n]"


def test_other_values_take_the_standard_encoder() -> None:
    for odd in ([{"s": "lone \ud800 surrogate"}], [{1: 2.5}], [Mode.B], {"d": Name.X}):
        assert _core.json_dumps(odd, 10) is None
        assert json_text.dumps(odd, 10) == json.dumps(_clean(odd), indent=2)


def test_score_rows_encode_as_before() -> None:
    from test_score_stream import generated

    from ger_replay.score import stream

    rows = stream.score_frame(generated(seed=4, n=40, runs_per=1), "strict").rows
    assert any(
        isinstance(v, float) and math.isnan(v) for r in rows for v in r["per_class"].values()
    ) or any(v is None for r in rows for v in r["per_class"].values())
    assert render_scores(rows, "json") == json.dumps(_clean(rows), indent=2)


def _csv_cell_by_cell(rows: list[dict[str, Any]]) -> str:
    """Score rows as CSV one cell at a time: each value as the JSON means it, None empty, text
    kept from reading as a formula. What the CSV output must be, byte for byte."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_KEYS)
    for r in rows:
        cells = [r.get(k) for k in CSV_KEYS]
        w.writerow(["" if v is None else csv_cell(json_text.clean(v, JSON_DIGITS)) for v in cells])
    return buf.getvalue().rstrip("\n")


#: values of one kind, as a CSV column holds them: floats, text, counts and flags, or any mix
_KINDS = {
    "float": st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([-0.0, 0.0, 5e-324, 1e16, 1e-5, 2.675, 0.1 + 0.2, 39.756164288836274]),
    "text": st.text(max_size=6) | st.sampled_from(["=1+1", "-1.5", "-inf", "'q", 'a,"b', "x\ny"]),
    "count": st.integers(min_value=-(10**20), max_value=10**20) | st.booleans(),
    "any": st.sampled_from(
        [np.float64(0.1), np.float64("nan"), Mode.B, Name.X, (1.5, float("nan")), {"k": 2.5}]
    )
    | st.floats()
    | st.text(max_size=3)
    | st.integers(),
}


@st.composite
def _score_tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = [draw(st.sampled_from(list(_KINDS))) for _ in CSV_KEYS]
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        row: dict[str, Any] = {}
        for key, kind in zip(CSV_KEYS, kinds, strict=True):
            got = draw(st.sampled_from(["value", "value", "none", "missing"]))
            if got != "missing":
                row[key] = draw(_KINDS[kind]) if got == "value" else None
        rows.append(row)
    return rows


@settings(max_examples=300, deadline=None)
@given(rows=_score_tables())
def test_csv_is_written_as_cell_by_cell(rows: list[dict[str, Any]]) -> None:
    assert render_scores(rows, "csv") == _csv_cell_by_cell(rows)


def test_score_rows_as_csv_as_cell_by_cell() -> None:
    from test_score_stream import generated

    from ger_replay.score import stream

    rows = stream.score_frame(generated(seed=4, n=40, runs_per=1), "strict").rows
    assert render_scores(rows, "csv") == _csv_cell_by_cell(rows)
