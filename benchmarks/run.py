"""Runs every side-by-side benchmark of the project and prints a table of ratios.

    python benchmarks/run.py            # all
    python benchmarks/run.py score      # those whose module name contains "score"
    python benchmarks/run.py scale --100m   # flags go to the benchmarks (here: the 100M size)

Each `bench_*.py` module beside this file has a `run() -> list[Result]`; ours and the peer are
measured in the same process run, on the same input, so the ratio is what matters.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Result  # noqa: E402


def _fmt_s(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def _fmt_mb(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    argv = [a for a in argv if not a.startswith("--")]  # flags are read by the benchmarks
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    results: list[Result] = []
    for n in names:
        print(f"running {n} ...", file=sys.stderr, flush=True)
        results.extend(importlib.import_module(n).run())
    if not results:
        print("no benchmark ran (is ../shared/data present?)")
        return 0
    heads = [
        "benchmark",
        "ours",
        "peer",
        "peer time",
        "speed ×",
        "ours MiB",
        "peer MiB",
        "memory ×",
        "note",
    ]
    rows = [
        [
            r.name,
            _fmt_s(r.ours_s),
            r.peer,
            _fmt_s(r.peer_s),
            f"{r.speedup:.1f}",
            _fmt_mb(r.ours_mb),
            _fmt_mb(r.peer_mb),
            "-" if r.memory_ratio is None else f"{r.memory_ratio:.1f}",
            r.note,
        ]
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
