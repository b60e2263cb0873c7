"""Running a sweep (sweep.py): the dry run of every cell, the cells recorded in turn, and the
one summary at the end."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ger_replay.errors import GerReplayError
from ger_replay.record.sweep import Cell


@dataclass
class CellOutcome:
    cell: Cell
    status: str  # complete, incomplete, error
    detail: str = ""
    batches: str = ""
    calls: int = 0
    spent: float | None = None


def dry_run(cell_list: Sequence[Cell]) -> list[dict[str, Any]]:
    """The plan of every cell (no request, nothing written)."""
    from ger_replay.record import recorder

    rows: list[dict[str, Any]] = []
    for c in cell_list:
        try:
            p = recorder.plan(c.options)
        except GerReplayError as e:
            rows.append({"cell": c.name, "error": str(e)})
            continue
        rows.append(
            {
                "cell": c.name,
                "samples": p.samples,
                "batches": p.batches - p.done,
                "requests": f"{p.min_requests}-{p.max_requests}",
                "prompt_tokens": p.prompt_tokens,
                "completion_tokens": p.completion_tokens,
                "cost": p.estimate,
                "min_requests": p.min_requests,
                "max_requests": p.max_requests,
            }
        )
    return rows


def dry_run_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    from ger_replay.record.cost import money

    lines = [
        f"{'cell':<48} {'samples':>7} {'batches':>7} {'requests':>11} {'tokens':>12} {'cost':>10}"
    ]
    tot_req = [0, 0]
    tot_tok = 0
    costs: list[float | None] = []
    errors = 0
    for r in rows:
        if "error" in r:
            errors += 1
            lines.append(f"{r['cell']:<48} error: {r['error']}")
            continue
        tok = r["prompt_tokens"] + r["completion_tokens"]
        lines.append(
            f"{r['cell']:<48} {r['samples']:>7} {r['batches']:>7} {r['requests']:>11} "
            f"{tok:>12,} {money(r['cost']):>10}"
        )
        tot_req[0] += r["min_requests"]
        tot_req[1] += r["max_requests"]
        tot_tok += tok
        costs.append(r["cost"])
    known = [c for c in costs if c is not None]
    cost_text = money(sum(known)) + (
        f" (+ {len(costs) - len(known)} cell(s) without a price)" if len(known) < len(costs) else ""
    )
    lines.append(
        f"{len(rows)} cell(s): {tot_req[0]}-{tot_req[1]} requests, {tot_tok:,} tokens "
        f"(estimate), cost {cost_text}" + (f"; {errors} cell(s) with errors" if errors else "")
    )
    return lines


def run(
    cell_list: Sequence[Cell], on_cell: Callable[[Cell], None] | None = None
) -> list[CellOutcome]:
    """Records (or resumes) every cell in turn; a cell's failure is kept and the next goes on."""
    from ger_replay.record import recorder

    outcomes = []
    for c in cell_list:
        if on_cell is not None:
            on_cell(c)
        try:
            s = recorder.record(c.options)
        except GerReplayError as e:
            outcomes.append(CellOutcome(c, "error", str(e)))
            continue
        spent = s.price.cost(s.stats.prompt_tokens, s.stats.completion_tokens) if s.price else None
        outcomes.append(
            CellOutcome(
                c,
                "complete" if s.complete else "incomplete",
                "; ".join(s.errors),
                f"{s.skipped + s.batches_done}/{s.batches}",
                s.stats.calls,
                spent,
            )
        )
    return outcomes


def summary_lines(outcomes: Sequence[CellOutcome]) -> list[str]:
    from ger_replay.record.cost import money

    lines = [f"{'cell':<48} {'status':<10} {'batches':>9} {'calls':>6} {'spent':>10}"]
    for o in outcomes:
        lines.append(
            f"{o.cell.name:<48} {o.status:<10} {o.batches:>9} {o.calls:>6} {money(o.spent):>10}"
            + (f"  {o.detail.splitlines()[0][:200]}" if o.detail else "")
        )
    n = {k: sum(o.status == k for o in outcomes) for k in ("complete", "incomplete", "error")}
    spent = [o.spent for o in outcomes if o.spent is not None]
    lines.append(
        f"{len(outcomes)} cell(s): {n['complete']} complete, {n['incomplete']} incomplete, "
        f"{n['error']} failed; spent this session {money(sum(spent))}"
        + (" (cells without a price not counted)" if len(spent) < len(outcomes) else "")
        + ("; run the same command again to resume" if n["incomplete"] or n["error"] else "")
    )
    return lines


def with_progress(cell_list: Sequence[Cell], progress: bool) -> list[Cell]:
    return [replace(c, options=replace(c.options, progress=progress)) for c in cell_list]
