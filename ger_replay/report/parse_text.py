"""A parse result as text: `json` (the result's fields) or `table` (one line per item)."""

from __future__ import annotations

import json

from ger_replay.parsing import ParseResult


def render_parse(result: ParseResult, fmt: str) -> str:
    """`json` (the result's fields) or `table` (one line per item)."""
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    lines = [f"status: {result.status}" + (f" ({result.refusal})" if result.refusal else "")]
    lines.append(f"items:  {len(result.rankings)}")
    items = zip(result.rankings, result.invented, result.hedged, strict=True)
    for i, (ranking, invented, hedged) in enumerate(items):
        extra = f"   invented: {', '.join(invented)}" if invented else ""
        extra += "   (hedged: more than one label named, the first kept)" if hedged else ""
        lines.append(f"{i + 1:>4}  {', '.join(ranking) or '-'}{extra}")
    return "\n".join(lines)
