"""User synonym files: more (variant, canonical) pairs on top of PROTOCOL.md part 3's table.

Two formats, chosen by the file's suffix:
- CSV (`.csv`, `.txt`): one `variant,canonical` pair a line; an optional header
  `variant,canonical`; blank lines and lines starting with `#` are skipped.
- JSON (`.json`): an object mapping a variant to its canonical form, or a canonical form to a
  list of its variants (`{"joyful": "happy"}` or `{"happy": ["joyful", "cheerful"]}`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ger_replay.errors import InputError

Pairs = list[tuple[str, str]]


def load_synonyms(path: str | Path) -> Pairs:
    """The (variant, canonical) pairs of a synonym file, in file order."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("synonym file not found", p) from None
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason} at byte {e.start})", p) from None
    except OSError as e:
        raise InputError(f"cannot read the synonym file: {e.strerror}", p) from None
    if p.suffix.lower() == ".json":
        return _from_json(text, p)
    return _from_csv(text, p)


def _from_csv(text: str, path: Path) -> Pairs:
    pairs: Pairs = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise InputError(
                f"expected 2 columns `variant,canonical`, found {len(cells)}", path, line_no
            )
        if line_no == 1 and [c.lower() for c in cells] == ["variant", "canonical"]:
            continue
        if not cells[0] or not cells[1]:
            raise InputError("empty variant or canonical label", path, line_no)
        pairs.append((cells[0], cells[1]))
    return pairs


def _line_of(text: str, needle: str) -> int | None:
    at = text.find(json.dumps(needle)[1:-1])
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _from_json(text: str, path: Path) -> Pairs:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", path, e.lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object of variant -> canonical", path, 1)
    pairs: Pairs = []
    for key, value in data.items():
        if isinstance(value, str) and value.strip() and key.strip():
            pairs.append((key, value))
        elif (
            isinstance(value, list)
            and key.strip()
            and all(isinstance(v, str) and v.strip() for v in value)
        ):
            pairs.extend((v, key) for v in value)
        else:
            raise InputError(
                f"the value of {key!r} must be a non-empty label or a list of labels",
                path,
                _line_of(text, key),
            )
    return pairs
