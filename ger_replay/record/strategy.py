"""The calling strategy of PROTOCOL.md part 5 (Algorithm 1), free of I/O.

A batch is asked up to T_max times until its answer qualifies; a batch that still fails is split
into two halves, each handled the same way, down to single samples. A sample that fails alone is
unanswered, with the status of its last answer as the reason.

`call(samples, split, attempt)` makes one request and returns the answer's status: "ok" when it
qualifies (passes the safety check and holds one result per sample), else the reason it does
not ("refused", "count_mismatch", "unparseable", "no_label", "rejected"). Transient failures
(rate limits, server errors) are the caller's business: `call` either returns a status or
raises, and a raise abandons the batch (a later resume asks it again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ger_replay.protocol.status import Status

OK = Status.OK.value

#: call(samples, split path, attempt at that node) -> status
Call = Callable[[tuple[str, ...], str, int], str]


@dataclass
class BatchResult:
    #: sample id -> None when answered, else the reason it is not
    outcome: dict[str, str | None] = field(default_factory=dict)
    calls: int = 0
    #: calls whose answer did not qualify
    failed_calls: int = 0

    @property
    def answered(self) -> int:
        return sum(v is None for v in self.outcome.values())

    @property
    def unanswered(self) -> dict[str, str]:
        return {k: v for k, v in self.outcome.items() if v is not None}


def halves(samples: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two halves; the first takes the extra sample of an odd batch."""
    mid = (len(samples) + 1) // 2
    return tuple(samples[:mid]), tuple(samples[mid:])


def run_batch(samples: Sequence[str], max_tries: int, call: Call) -> BatchResult:
    """Runs one batch by the strategy; the order of calls is deterministic."""
    if max_tries < 1:
        raise ValueError("max_tries must be at least 1")
    if len(set(samples)) != len(samples):
        raise ValueError("a batch lists a sample twice")
    result = BatchResult()
    _node(tuple(samples), "", max_tries, call, result)
    # Keep the batch's own order in the outcome.
    result.outcome = {s: result.outcome[s] for s in samples}
    return result


def _node(
    samples: tuple[str, ...], path: str, max_tries: int, call: Call, out: BatchResult
) -> None:
    if not samples:
        return
    last = ""
    for attempt in range(1, max_tries + 1):
        status = call(samples, path, attempt)
        out.calls += 1
        if status == OK:
            for s in samples:
                out.outcome[s] = None
            return
        out.failed_calls += 1
        last = status
    if len(samples) == 1:
        out.outcome[samples[0]] = last
        return
    first, second = halves(samples)
    _node(first, path + "0", max_tries, call, out)
    _node(second, path + "1", max_tries, call, out)


def planned_calls(n: int, max_tries: int) -> tuple[int, int]:
    """(fewest, most) calls a batch of n samples can take."""
    if n <= 0:
        return 0, 0
    if n == 1:
        return 1, max_tries
    a, b = (n + 1) // 2, n // 2
    return 1, max_tries + planned_calls(a, max_tries)[1] + planned_calls(b, max_tries)[1]
