"""A parse result as text: `json` (the result's fields), `table` (one line per item), or
Markdown and CSV (a row per item)."""

from __future__ import annotations

import json

from ger_replay.parsing import ParseResult


def render_parse(result: ParseResult, fmt: str) -> str:
    """`json` (the result's fields) or `table` (one line per item)."""
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    if fmt in ("markdown", "csv"):
        import polars as pl

        from ger_replay.report.text_tables import render_text

        df = pl.DataFrame(
            {
                "item": list(range(1, len(result.rankings) + 1)),
                "ranking": [", ".join(r) for r in result.rankings],
                "invented": [", ".join(i) for i in result.invented],
            },
            schema={"item": pl.Int64, "ranking": pl.String, "invented": pl.String},
        )
        status = str(result.status) + (f" ({result.refusal})" if result.refusal else "")
        return render_text(df.with_columns(pl.lit(status).alias("status")), fmt)
    lines = [f"status: {result.status}" + (f" ({result.refusal})" if result.refusal else "")]
    lines.append(f"items:  {len(result.rankings)}")
    items = zip(result.rankings, result.invented, result.hedged, strict=True)
    for i, (ranking, invented, hedged) in enumerate(items):
        extra = f"   invented: {', '.join(invented)}" if invented else ""
        extra += "   (hedged: more than one label named, the first kept)" if hedged else ""
        lines.append(f"{i + 1:>4}  {', '.join(ranking) or '-'}{extra}")
    return "\n".join(lines)
