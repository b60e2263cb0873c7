"""`parse_responses` (Rust, parallel, GIL released) against the pure-Python reference parser on
100,000 realistic twenty-item answers.

The answers are written from rankings of the released predictions where ../shared/data is present
(otherwise from random top-5 rankings of AffectNet's labels), in the paper's shape most of the
time and in the other shapes models give the rest of the time."""

from __future__ import annotations

import csv
import random
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


def run() -> list[Result]:
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
    t_peer = best_time(lambda: peer(part), repeat=1) * (len(answers) / len(part))
    mb = sum(map(len, answers)) / 2**20
    ours_mb_all = peak_mb("bench_parse", "ours_job", len(answers))
    return [
        Result(
            name=f"parse {len(answers):,} answers x {ITEMS} items ({mb:.0f} MiB text)",
            ours_s=t_ours,
            peer="pure-Python reference parser",
            peer_s=t_peer,
            ours_mb=peak_mb("bench_parse", "ours_job", PEER_SLICE),
            peer_mb=peak_mb("bench_parse", "peer_job", PEER_SLICE),
            note=(
                f"{len(answers) / t_ours:,.0f} answers/s; {ok:,} ok; "
                f"peer timed on {len(part):,} and scaled; MiB on {len(part):,} "
                f"(ours on all {len(answers):,}: {ours_mb_all:.0f}); "
                + ("results agree" if agree else "RESULTS DIFFER")
            ),
        )
    ]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for r in run():
        print(r)
