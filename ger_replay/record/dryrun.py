"""The plan `record --dry-run` shows: samples, batches, requests, tokens and cost of what is left
of a run; no request is made and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass

from ger_replay.io import journal, rundir, scrub
from ger_replay.record import cost, strategy
from ger_replay.record.client import estimate_tokens
from ger_replay.record.setup import RecordOptions, layout, load_samples, resolve


@dataclass
class Plan:
    samples: int
    batches: int
    batch_size: int
    min_requests: int
    max_requests: int
    prompt_tokens: int
    completion_tokens: int
    done: int = 0
    subset: dict[str, int] | None = None
    price: cost.Price | None = None
    model: str = ""
    endpoint: str = ""

    @property
    def estimate(self) -> float | None:
        if self.price is None:
            return None
        return self.price.cost(self.prompt_tokens, self.completion_tokens)

    def lines(self) -> list[str]:
        if self.price is not None and self.estimate is not None:
            priced = f"{cost.money(self.estimate)} at {self.price.label()}"
        else:
            priced = "no price known for this model: give --price IN,OUT"
        out = [
            f"model:             {self.model} at {self.endpoint}",
            f"samples:           {self.samples} in batches of up to {self.batch_size}",
            f"batches:           {self.batches - self.done} to record of {self.batches}"
            + (f" ({self.done} already finished)" if self.done else ""),
            f"requests:          {self.min_requests} if every answer qualifies, "
            f"at most {self.max_requests}",
            f"tokens (estimate): {self.prompt_tokens:,} prompt + "
            f"{self.completion_tokens:,} completion, one request per batch to record",
            f"cost (estimate):   {priced}",
        ]
        if self.subset:
            out.append(
                f"subset:            {self.subset['n']} of {self.subset['of']} samples "
                f"(class-stratified, seed {self.subset['seed']})"
            )
        return out


def plan(opts: RecordOptions) -> Plan:
    """The plan of a run (`--dry-run`). Requests and tokens count the batches not yet finished;
    tokens are estimated from the first such batch's messages, scaled to its samples."""
    from ger_replay.record.messages import build_messages

    ds, settings, size = resolve(opts)
    samples = load_samples(opts, ds, settings.modality)
    done: set[str] = set()
    meta = None
    if rundir.is_run_dir(opts.out):
        meta = rundir.read_meta(opts.out)
        size = int(meta["batch_size"])
        done = journal.finished_batches(journal.read(opts.out / rundir.JOURNAL))
    order, segments, sub = layout(opts, ds, samples, meta)
    plan_batches = rundir.batches(order, size, segments)
    todo = [(b, ids) for b, ids in plan_batches if b not in done]
    by_id = {s.sample_id: s for s in samples}
    first = [by_id[i] for i in (todo or plan_batches)[0][1]]
    per_sample = estimate_tokens(build_messages(ds, first, settings)) / len(first)
    lo = hi = 0
    for _, ids in todo:
        a, b = strategy.planned_calls(len(ids), opts.max_tries)
        lo, hi = lo + a, hi + b
    left = sum(len(ids) for _, ids in todo)
    return Plan(
        samples=len(order),
        batches=len(plan_batches),
        batch_size=size,
        min_requests=lo,
        max_requests=hi,
        prompt_tokens=round(per_sample * left),
        completion_tokens=30 * left,
        done=len(plan_batches) - len(todo),
        subset=sub,
        price=opts.price or (cost.from_meta(meta) if meta else cost.known(settings.model)),
        model=settings.model,
        endpoint=scrub.clean_url(opts.base_url),
    )
