"""`parse_responses` (Rust, parallel, GIL released) against the pure-Python reference parser on
100,000 realistic twenty-item answers.

The answers are written from rankings of the released predictions where ../shared/data is present
(otherwise from random top-5 rankings of AffectNet's labels), in the paper's shape most of the
time and in the other shapes models give the rest of the time."""

from __future__ import annotations

import csv
import os
import random
import resource
from collections.abc import Callable
from pathlib import Path

from common import SHARED_DATA, Result, best_time, peak_mb

N_ANSWERS = 100_000
ITEMS = 20
#: The pure-Python peer is timed on a slice and scaled: it takes minutes on the full set.
PEER_SLICE = 10_000
SEED = 20231207


def _labels() -> list[str]:
    from ger_replay.protocol import datasets

    return list(datasets.get("affectnet").labels)


def _rankings(rng: random.Random, labels: list[str]) -> list[list[str]]:
    released = SHARED_DATA / "affectnet" / "label-gpt4v.csv"
    if released.is_file():
        with released.open(newline="", encoding="utf-8") as f:
            rows = [r["gpt4v"].split(",") for r in csv.DictReader(f) if r["gpt4v"]]
        if rows:
            return rows
    return [rng.sample(labels, 5) for _ in range(1000)]


def make_answers(n: int = N_ANSWERS) -> list[str]:
    from oracle import shapes

    rng = random.Random(SEED)
    labels = _labels()
    pool = _rankings(rng, labels)
    others = [*shapes.NAMED_SHAPES]
    out = []
    for _ in range(n):
        rk = [rng.choice(pool) for _ in range(ITEMS)]
        shape = "paper" if rng.random() < 0.6 else rng.choice(others)
        out.append(shapes.answer(rk, shape, rng, shuffle=rng.random() < 0.2))
    return out


def ours(answers: list[str]) -> list[object]:
    from ger_replay import parse_responses

    return parse_responses(answers, ITEMS, _labels())


def peer(answers: list[str]) -> list[object]:
    from oracle import reference

    from ger_replay.protocol.labels import default_synonyms

    return reference.parse_answers(answers, ITEMS, _labels(), default=default_synonyms())


def ours_job_setup(n: int) -> list[str]:
    return make_answers(n)


def ours_job(answers: list[str]) -> None:
    ours(answers)


def peer_job_setup(n: int) -> list[str]:
    return make_answers(n)


def peer_job(answers: list[str]) -> None:
    peer(answers)


CORPUS = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "parse_corpus" / "answers.jsonl"
)


def corpus_rates() -> tuple[Result, dict[str, tuple[int, int]]]:
    """The corpus of answers by shape (tests/data/parse_corpus): per shape, how many parse as
    written down (status, rankings, invented labels, refusal, hedged), and both parsers' time
    on the whole corpus repeated."""
    import json

    from oracle import reference

    from ger_replay import parse_response
    from ger_replay.protocol.labels import default_synonyms

    cases = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines()]
    default = default_synonyms()
    rates: dict[str, tuple[int, int]] = {}
    for c in cases:
        got = parse_response(c["text"], c["n_items"], c["labels"])
        hedged = c.get("hedged", [False] * len(c["rankings"]))
        good = (got.status, got.rankings, got.invented, got.refusal, got.hedged) == (
            c["status"],
            c["rankings"],
            c["invented"],
            c["refusal"],
            hedged,
        )
        k, n = rates.get(c["shape"], (0, 0))
        rates[c["shape"]] = (k + good, n + 1)

    def ours_all() -> None:
        for c in cases:
            parse_response(c["text"], c["n_items"], c["labels"])

    def peer_all() -> None:
        for c in cases:
            reference.parse_answer(c["text"], c["n_items"], c["labels"], default=default)

    t_ours = best_time(ours_all, repeat=5)
    t_peer = best_time(peer_all, repeat=3)
    k = sum(a for a, _ in rates.values())
    n = sum(b for _, b in rates.values())
    res = Result(
        name=f"parse the corpus of {n} answers in {len(rates)} shapes, one by one",
        ours_s=t_ours,
        peer="pure-Python reference parser",
        peer_s=t_peer,
        note=f"{k}/{n} parse as written down; "
        + "; ".join(f"{s} {a}/{b}" for s, (a, b) in sorted(rates.items())),
    )
    return res, rates


def _cpu_seconds(fn: Callable[[], object]) -> float:
    """CPU time (all threads) of one call: on a machine shared with other work, the wall time
    depends on the load and this does not."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def run() -> list[Result]:
    corpus, _ = corpus_rates()
    answers = make_answers()
    got = ours(answers)
    ok = sum(r.status == "ok" for r in got)  # type: ignore[attr-defined]
    part = answers[:PEER_SLICE]
    ref = peer(part)
    agree = all(
        (a.status, a.rankings, a.invented, a.refusal)  # type: ignore[attr-defined]
        == (b.status, b.rankings, b.invented, b.refusal)  # type: ignore[attr-defined]
        for a, b in zip(got[:PEER_SLICE], ref, strict=True)
    )
    t_ours = best_time(lambda: ours(answers), repeat=3)
    cpu_s = _cpu_seconds(lambda: ours(answers))
    t_peer = best_time(lambda: peer(part), repeat=1) * (len(answers) / len(part))
    mb = sum(map(len, answers)) / 2**20
    ours_mb_all = peak_mb("bench_parse", "ours_job", len(answers))
    return [
        corpus,
        Result(
            name=f"parse {len(answers):,} answers x {ITEMS} items ({mb:.0f} MiB text)",
            ours_s=t_ours,
            peer="pure-Python reference parser",
            peer_s=t_peer,
            ours_mb=peak_mb("bench_parse", "ours_job", PEER_SLICE),
            peer_mb=peak_mb("bench_parse", "peer_job", PEER_SLICE),
            note=(
                f"{len(answers) / t_ours:,.0f} answers/s; "
                f"{len(answers) / cpu_s:,.0f} answers per CPU-second (the rate on free cores: "
                f"{len(answers) / cpu_s * (os.cpu_count() or 1):,.0f}/s on {os.cpu_count()}); "
                f"{ok:,} ok; "
                f"peer timed on {len(part):,} and scaled; MiB on {len(part):,} "
                f"(ours on all {len(answers):,}: {ours_mb_all:.0f}); "
                + ("results agree" if agree else "RESULTS DIFFER")
            ),
        ),
    ]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    _, by_shape = corpus_rates()
    print("parse rate per shape (tests/data/parse_corpus/answers.jsonl):")
    for shape, (a, b) in sorted(by_shape.items()):
        print(f"  {shape:22s} {a:3d}/{b:<3d} {100 * a / b:5.1f}%")
    for r in run():
        print(r)
