"""`score --expect`: compare scores with an earlier JSON scoring, run by run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import safe_read

#: The largest scoring file read (bytes).
MAX_SIZE = 64 << 20


def read_expected(path: Path) -> dict[str, dict[str, Any]]:
    """A JSON scoring, bounded in size and depth, every field a reader uses checked for type."""
    try:
        data = safe_read.load_json_file(path, MAX_SIZE)
    except InputError as e:
        raise InputError(f"not a JSON scoring: {e.message}", path, e.line) from None
    if not isinstance(data, list) or not all(
        isinstance(r, dict)
        and isinstance(r.get("run"), str)
        and "value" in r
        and (r["value"] is None or _number(r["value"]))
        for r in data
    ):
        raise InputError(
            "expected a JSON list of objects with run and value (score --format json)", path
        )
    return {r["run"]: r for r in data}


def moved(
    rows: list[dict[str, Any]], expected: dict[str, dict[str, Any]], tolerance: float = 1e-9
) -> list[str]:
    """One line per run whose value moved, appeared or disappeared."""
    out = []
    got = {r["run"]: r for r in rows}
    for run, exp in expected.items():
        if run not in got:
            out.append(f"{run}: expected {_fmt(exp['value'])}, but the run is missing")
            continue
        a, b = exp["value"], got[run]["value"]
        if a is None and b is None:
            continue
        if a is None or b is None or not math.isclose(a, b, rel_tol=0, abs_tol=tolerance):
            out.append(f"{run}: expected {_fmt(a)}, got {_fmt(b)}")
        if exp.get("rules") and got[run].get("rules") and exp["rules"] != got[run]["rules"]:
            out.append(
                f"{run}: scored under the {got[run]['rules']} rules, the expected scores under "
                f"{exp['rules']}"
            )
        for key in ("n_scored", "n_total"):
            if key in exp and exp[key] != got[run].get(key):
                out.append(f"{run}: {key} expected {exp[key]}, got {got[run].get(key)}")
    for run in got:
        if run not in expected:
            out.append(f"{run}: new run, not in the expected scores ({_fmt(got[run]['value'])})")
    return out


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(v: Any) -> str:
    return "none" if v is None else f"{v:.6f}"
