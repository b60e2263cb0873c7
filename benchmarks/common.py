"""Helpers shared by the benchmarks: wall time (best of N) and peak memory in a fresh process."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: ../shared/data beside the checkout; GER_REPLAY_SHARED_DATA names it where it lies elsewhere.
SHARED_DATA = (
    Path(os.environ.get("GER_REPLAY_SHARED_DATA") or ROOT.parent / "shared" / "data")
    / "gpt4v-emotion"
)
#: The test oracles (the pure-Python reference parser) live with the tests.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


@dataclass
class Result:
    """One side-by-side comparison: ours against a named peer on the same job."""

    name: str
    ours_s: float
    peer: str
    peer_s: float
    ours_mb: float | None = None
    peer_mb: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        return self.peer_s / self.ours_s if self.ours_s > 0 else float("inf")

    @property
    def memory_ratio(self) -> float | None:
        if self.ours_mb is None or self.peer_mb is None or self.ours_mb <= 0:
            return None
        return self.peer_mb / self.ours_mb


def best_time(fn: Callable[[], Any], repeat: int = 5, number: int = 1) -> float:
    """The best of `repeat` timings of `number` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status")


def _child(module: str, func: str, args: tuple[Any, ...], q: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    mod = importlib.import_module(module)
    prep = getattr(mod, func + "_setup", None)
    state = prep(*args) if prep else None
    # Reset this process's resident high-water mark (VmHWM), so only the job is charged.
    # ru_maxrss would not do: Linux carries it across exec from the forking parent.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_kb("VmRSS")
    if prep:
        getattr(mod, func)(state)
    else:
        getattr(mod, func)(*args)
    after = _status_kb("VmHWM")
    q.put((before / 1024.0, after / 1024.0))


def peak_mb(module: str, func: str, *args: Any) -> float:
    """Peak resident memory that `module.func` adds, in MiB, measured in a fresh process.

    If `module.func_setup(*args)` exists it runs first (inputs are not charged to the job) and
    its return value is passed to `func`. Native (Rust, numpy) allocations are counted, since
    this reads the operating system's high-water mark rather than Python's allocator."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(module, func, args, q))
    p.start()
    before, after = q.get(timeout=600)
    p.join()
    return max(after - before, 0.0)
