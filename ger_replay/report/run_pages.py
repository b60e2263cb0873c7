"""The report's drill-down: a static page per run (`runs/<run>.html`, no scripts) listing every
sample with its ground truth, prediction, status and parsed ranking, and, for recorded runs,
each call's raw answer, linked from the samples it answered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ger_replay.io.cassettes import answer_text
from ger_replay.io.runs import RecordedCalls
from ger_replay.report.html import CSS, Block, Section, esc


@dataclass
class _Call:
    number: int
    where: str
    outcome: str
    samples: list[str]
    answer: str | None


def _calls(recorded: RecordedCalls | None) -> tuple[list[_Call], dict[str, int]]:
    """Every call of a recorded run with its answer text, and sample -> the last call that
    carried it."""
    if recorded is None:
        return [], {}
    out: list[_Call] = []
    last: dict[str, int] = {}
    for e in recorded.events:
        if e.get("event") != "call":
            continue
        rel, j = str(e.get("cassette") or ""), e.get("interaction")
        responses = recorded.responses.get(rel, [])
        text = None
        if isinstance(j, int) and 0 <= j < len(responses):
            text = answer_text(responses[j])
        c = _Call(len(out) + 1, f"{rel} #{j}", str(e.get("outcome")), [], text)
        c.samples = [str(s) for s in e.get("samples") or []]
        out.append(c)
        for s in c.samples:
            last[s] = c.number
    return out, last


def run_page(
    run: str, rows: pl.DataFrame, score: dict[str, Any], recorded: RecordedCalls | None
) -> str:
    """The page of one run."""
    calls, last = _calls(recorded)
    flags = []
    if score.get("synthetic"):
        flags.append(
            "SYNTHETIC run: answered by the simulator, not a model; its scores mean nothing."
        )
    if score.get("partial"):
        flags.append(
            f"Partial run: only {score['answered']:.0f}% of its samples were answered; "
            "left out of the report's summaries and figures."
        )
    value = score.get("value")
    head = (
        f"{esc(score.get('dataset'))} · {esc(score.get('model'))} · {esc(score.get('metric'))} "
        + (f"{value:.2f}" if value is not None else "–")
        + f" · {score.get('n_scored')} of {score.get('n_total')} samples scored"
    )
    body = []
    for r in rows.iter_rows(named=True):
        n = last.get(r["sample_id"])
        link = f'<a href="#call-{n}">call {n}</a>' if n else "–"
        ranking = ", ".join(r["ranking"] or []) or "–"
        body.append(
            f"<tr id='s-{esc(r['sample_id'])}'><td>{esc(r['sample_id'])}</td>"
            f"<td>{esc(r['gt'])}</td><td>{esc(r['pred'] or '–')}</td>"
            f"<td>{esc(r['status'])}</td><td>{esc(ranking)}</td><td>{link}</td></tr>"
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(run)}</title><style>{CSS}"
        "td{text-align:left;white-space:normal}pre{white-space:pre-wrap}</style></head>",
        "<body><main>",
        f'<p><a href="../index.html">← report</a></p><h1>{esc(run)}</h1>',
        f"<p class='sub'>{head}</p>",
        *(f"<p class='note'>{esc(f)}</p>" for f in flags),
        "<h2>Samples</h2><div class='scroll'><table><thead><tr><th>sample</th><th>truth</th>"
        "<th>prediction</th><th>status</th><th>parsed ranking</th><th>answer</th></tr></thead>",
        f"<tbody>{''.join(body)}</tbody></table></div>",
    ]
    if calls:
        parts.append("<h2>Calls and their raw answers</h2>")
        for c in calls:
            parts.append(
                f"<details id='call-{c.number}'><summary>call {c.number}: {esc(c.where)}, "
                f"{esc(c.outcome)}, {len(c.samples)} sample(s)</summary>"
                f"<p class='sub'>samples: {esc(', '.join(c.samples))}</p>"
                f"<pre>{esc(c.answer if c.answer is not None else '(no answer text)')}</pre>"
                "</details>"
            )
    else:
        parts.append("<p class='sub'>No recorded calls (not a recorded run folder).</p>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


#: Above this many samples in all, no per-run pages are written (the tables hold every row).
PAGES_LIMIT = 200_000


def runs_section(
    df: pl.DataFrame,
    scores: pl.DataFrame,
    calls: Sequence[RecordedCalls],
    write: Callable[[Path, str], Path],
    slug: Callable[[str], str],
    notes: list[str],
) -> Section | None:
    """A page per run, and the index section linking them with their flags."""
    if df.height > PAGES_LIMIT:
        notes.append(f"per-run sample pages: {df.height:,} samples, above {PAGES_LIMIT:,}")
        return None
    by_run = {c.run: c for c in calls}
    cols = ["sample_id", "gt", "pred", "status", "ranking"]
    items = []
    used: set[str] = set()
    for s in scores.iter_rows(named=True):
        run = s["run"]
        rows = df.filter(pl.col("run") == run).select(cols)
        name = slug(run)
        while name in used:  # two names with one slug ("a.b", "a_b") get two pages
            name += "_"
        used.add(name)
        rel = Path("runs") / f"{name}.html"
        write(rel, run_page(run, rows, s, by_run.get(run)))
        flags = [f for f in ("synthetic", "partial") if s.get(f)]
        note = f" <span class='cov'>({', '.join(flags)})</span>" if flags else ""
        items.append(f"<li><a href='{esc(rel.as_posix())}'>{esc(run)}</a>{note}</li>")
    return Section(
        "Runs, sample by sample",
        "A page per run: every sample with its ground truth, prediction, status and parsed "
        "ranking, and the raw answers of recorded runs.",
        [Block("<ul>" + "".join(items) + "</ul>")],
    )
