"""Refusals and cost, per run.

From the predictions table (any source): samples refused, malformed (count mismatch, unparseable),
unanswered, answered with no candidate label, and the attempts they took. From the calls a load
read from recorded run folders (docs/run-format.md) as well: the calls made, retries, the deepest
split, transient failures, the refusal wordings the answers used, the tokens the run used (the
`usage` fields of the recorded responses) and what they cost at the run's price (record/cost.py's
prices, kept in run.json). Nothing here reads a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ger_replay.io import table
from ger_replay.io.cassettes import answer_text
from ger_replay.io.runs import RecordedCalls
from ger_replay.protocol import status
from ger_replay.protocol.status import Status

_REFUSED = (Status.REFUSED.value, Status.REJECTED.value)

#: Journal outcomes of a call that reached an answer, and of a transient failure.
ANSWER_OUTCOMES: tuple[str, ...] = tuple(s.value for s in status.ANSWER_OUTCOMES)
TRANSIENT_OUTCOMES = ("rate_limited", "server_error", "timeout", "connection")
TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")

STATUS_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "dataset": pl.String(),
    "n_samples": pl.Int64(),
    **{s: pl.Int64() for s in table.STATUSES},
    "malformed": pl.Int64(),
    "with_invented": pl.Int64(),
    "mean_attempts": pl.Float64(),
    "max_attempts": pl.Int64(),
}

CALL_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "run_dir": pl.String(),
    "calls": pl.Int64(),
    "paid_calls": pl.Int64(),
    "retries": pl.Int64(),
    "split_calls": pl.Int64(),
    "max_split_depth": pl.Int64(),
    **{f"calls_{o}": pl.Int64() for o in (*ANSWER_OUTCOMES, *TRANSIENT_OUTCOMES)},
    "batches_done": pl.Int64(),
    "batches_failed": pl.Int64(),
    "unanswered": pl.Int64(),
    **{t: pl.Int64() for t in TOKEN_FIELDS},
    #: dollars spent by the recorded answers at the run's price (null: no price known)
    "spent_usd": pl.Float64(),
    "price": pl.String(),
}

WORDING_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "wording": pl.String(),
    "calls": pl.Int64(),
}


def status_counts(df: pl.DataFrame) -> pl.DataFrame:
    """A row per run: samples by status, malformed (count mismatch + unparseable), samples
    whose ranking held invented labels, and the attempts the samples took."""
    if df.height == 0:
        return pl.DataFrame(schema=STATUS_SCHEMA)
    out = df.group_by("run", maintain_order=True).agg(
        pl.col("dataset").first(),
        pl.len().cast(pl.Int64).alias("n_samples"),
        *[(pl.col("status") == s).sum().cast(pl.Int64).alias(s) for s in table.STATUSES],
        (pl.col("invented").list.len().fill_null(0) > 0)
        .sum()
        .cast(pl.Int64)
        .alias("with_invented"),
        pl.col("attempts").filter(pl.col("attempts") > 0).mean().alias("mean_attempts"),
        pl.col("attempts").max().cast(pl.Int64).alias("max_attempts"),
    )
    out = out.with_columns(
        (pl.col(table.COUNT_MISMATCH) + pl.col(table.UNPARSEABLE)).alias("malformed")
    )
    return out.select(list(STATUS_SCHEMA)).cast(STATUS_SCHEMA)  # type: ignore[arg-type]


_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s")


def wording(answer: str, limit: int = 80) -> str:
    """The refusal's wording as a key: the first sentence, spaces folded, curly quotes made
    straight, cut at `limit` characters."""
    text = _SPACE.sub(" ", answer.replace("\u2019", "'").replace("\u2018", "'")).strip()
    first = _SENTENCE.split(text, maxsplit=1)[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "\u2026"


def _rejection(response: dict[str, Any]) -> str:
    body = response.get("body", {}).get("string", "")
    try:
        msg = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        msg = ""
    return f"HTTP {response['status']['code']} rejected" + (f": {wording(msg, 60)}" if msg else "")


@dataclass
class RunCalls:
    row: dict[str, Any]
    wordings: dict[str, int]


def run_calls(recorded: RecordedCalls) -> RunCalls:
    """Call statistics of one recorded run folder, from what the load read."""
    events = recorded.events
    calls = [e for e in events if e.get("event") == "call"]
    row: dict[str, Any] = {
        "run": recorded.run,
        "run_dir": str(recorded.run_dir),
        "calls": len(calls),
        "paid_calls": sum(1 for e in calls if not e.get("replayed")),
        "retries": sum(1 for e in calls if int(e.get("attempt") or 1) > 1),
        "split_calls": sum(1 for e in calls if str(e.get("split") or "")),
        "max_split_depth": max((len(str(e.get("split") or "")) for e in calls), default=0),
        "batches_done": sum(1 for e in events if e.get("event") == "batch_done"),
        "batches_failed": sum(1 for e in events if e.get("event") == "batch_failed"),
        "unanswered": sum(
            len(e.get("unanswered") or {}) for e in events if e.get("event") == "batch_done"
        ),
    }
    for o in (*ANSWER_OUTCOMES, *TRANSIENT_OUTCOMES):
        row[f"calls_{o}"] = sum(1 for e in calls if e.get("outcome") == o)
    tokens = dict.fromkeys(TOKEN_FIELDS, 0)
    wordings: dict[str, int] = {}
    refused_at: dict[str, set[int]] = {}
    for e in calls:
        if e.get("outcome") in _REFUSED and e.get("interaction") is not None:
            refused_at.setdefault(str(e.get("cassette")), set()).add(int(e["interaction"]))
    for rel, responses in recorded.responses.items():
        marked = refused_at.get(rel, set())
        for j, resp in enumerate(responses):
            _add_usage(tokens, resp)
            if j in marked:
                text = answer_text(resp)
                key = wording(text) if text is not None else _rejection(resp)
                wordings[key] = wordings.get(key, 0) + 1
    row.update(tokens)
    from ger_replay.record import cost

    price = cost.from_meta(recorded.meta)
    row["spent_usd"] = (
        price.cost(tokens["prompt_tokens"], tokens["completion_tokens"]) if price else None
    )
    row["price"] = price.label() if price else None
    return RunCalls(row, wordings)


def _add_usage(tokens: dict[str, int], response: dict[str, Any]) -> None:
    if int(response["status"]["code"]) != 200:
        return
    try:
        usage = json.loads(response["body"]["string"]).get("usage") or {}
    except (ValueError, AttributeError, TypeError, RecursionError):
        return
    for k in TOKEN_FIELDS:
        v = usage.get(k)
        if isinstance(v, int):
            tokens[k] += v


@dataclass
class Refusals:
    #: a row per run of the predictions table (status_counts)
    statuses: pl.DataFrame
    #: a row per recorded run folder: calls, retries, split depth, tokens
    calls: pl.DataFrame
    #: run, wording, calls: the refusal wordings the recorded answers used
    wordings: pl.DataFrame


def refusals(df: pl.DataFrame, calls: Sequence[RecordedCalls] = ()) -> Refusals:
    """Refusals and cost of every run: statuses from the table, calls and tokens from the
    recorded calls a load read (`load(paths).calls`)."""
    rows, words = [], []
    for rec in calls:
        try:
            rc = run_calls(rec)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
            continue  # a hostile journal: the run's rows are scored, its calls are not counted
        rows.append(rc.row)
        words.extend(
            {"run": rc.row["run"], "wording": w, "calls": n} for w, n in rc.wordings.items()
        )
    calls_df = pl.DataFrame(rows, schema=CALL_SCHEMA)
    wordings = pl.DataFrame(words, schema=WORDING_SCHEMA).sort(
        ["run", "calls"], descending=[False, True]
    )
    return Refusals(status_counts(df), calls_df, wordings)
