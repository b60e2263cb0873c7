"""Scoring at scale: 1M, 10M and (with --100m) 100M predictions, against a plain polars streaming
group-by computing per-run accuracy over the same file (the peer), each in a fresh process
for its wall time and peak memory.

The 10M file is the released predictions (../shared/data) repeated until it holds about 10.2
million rows, each copy under distinct run names, the copies one after another in one Parquet
file (runs in blocks, as a concatenation writes them); without the released data, synthetic
runs of the same shape stand in. The same 10M rows with the copies interleaved row by row (runs
that interleave: the run columns are then read at the first rows afterwards) are scored too.
`ger-replay runs` is measured at 10M too, against a polars group-by giving each run's dataset,
rows and rows answered. The 100M input is a folder of ten 10M files (written to a private
temporary folder and deleted afterwards).

    python3 benchmarks/run.py scale            # 1M and 10M
    python3 benchmarks/run.py scale --100m     # and 100M (a few minutes, about 1 GB of disk)
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import SHARED_DATA, Result

TARGET_10M = 10_200_000
RULES = "paper"


def _status_kb(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError(name)


def _child(job: str, path: str, q: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import polars as pl

    from ger_replay.io import scan  # imports are not charged to the job
    from ger_replay.score import stream

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_kb("VmRSS")
    t0 = time.perf_counter()
    if job == "peer":
        src = pl.scan_parquet(Path(path) / "*.parquet" if Path(path).is_dir() else path)
        out = (
            src.group_by("run")
            .agg((pl.col("pred") == pl.col("gt")).mean().alias("acc"))
            .collect(engine="streaming")
        )
        n = out.height
    else:
        got = scan.scan([Path(path)])
        res = stream.score_sources(got.sources, RULES)
        if job == "ours+bootstrap":
            from ger_replay.stats.bootstrap import add_count_intervals

            add_count_intervals(res.rows, res.confusion, 1000)
        assert not got.errors and not res.errors, (got.errors, res.errors[:3])
        n = len(res.rows)
    elapsed = time.perf_counter() - t0
    q.put((elapsed, max(_status_kb("VmHWM") - before, 0) / 1024.0, n))


#: Each side is measured this many times, the two sides alternated, and the medians kept: the
#: machine's speed drifts by a third from one minute to the next.
REPEATS = 3


def _median(got: list[tuple]) -> tuple:
    """The median of each field (seconds, peak MiB, ...) over the runs."""
    return tuple(statistics.median(x[i] for x in got) for i in range(len(got[0])))


def side_by_side(path: Path) -> tuple[tuple, tuple]:
    """(seconds, peak MiB, runs) of ours and the peer, medians of `REPEATS` alternated runs."""
    ours, peer = [], []
    for _ in range(REPEATS):
        ours.append(measure("ours", path))
        peer.append(measure("peer", path))
    return _median(ours), _median(peer)


def measure(job: str, path: Path) -> tuple[float, float, int]:
    """(seconds, peak MiB, runs) of one job in a fresh process."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(job, str(path), q))
    p.start()
    while True:
        try:
            got = q.get(timeout=1)
            break
        except queue.Empty:
            if not p.is_alive():
                raise RuntimeError(f"{job} on {path}: exited with {p.exitcode}") from None
    p.join()
    return got


#: The peer as a whole program: the plain polars streaming group-by, its result written out.
PEER_SCRIPT = (
    "import sys; import polars as pl; "
    "out = pl.scan_parquet(sys.argv[1]).group_by('run')"
    ".agg((pl.col('pred') == pl.col('gt')).mean().alias('acc')).collect(engine='streaming'); "
    "sys.stdout.write(out.write_json())"
)


#: The peer of `ger-replay runs`: a plain polars streaming group-by giving each run's dataset,
#: rows and rows answered.
RUNS_PEER_SCRIPT = (
    "import sys; import polars as pl; "
    "out = pl.scan_parquet(sys.argv[1]).group_by('run', maintain_order=True)"
    ".agg(pl.col('dataset').first(), pl.len(), (pl.col('status') != 'unanswered').sum())"
    ".collect(engine='streaming'); sys.stdout.write(out.write_json())"
)


def _argv(job: str, path: Path) -> list[str]:
    """The command line of a whole-program job: "ours" (`score`), "runs", or their peers."""
    if job in ("peer", "runs-peer"):
        src = str(path / "*.parquet") if path.is_dir() else str(path)
        return [sys.executable, "-c", PEER_SCRIPT if job == "peer" else RUNS_PEER_SCRIPT, src]
    exe = Path(sys.executable).parent / "ger-replay"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "ger_replay.cli"]
    if job == "runs":
        return [*cmd, "runs", str(path), "--format", "json"]
    return [*cmd, "score", str(path), "--rules", RULES, "--format", "json"]


def measure_cli(job: str, path: Path) -> tuple[float, float]:
    """(seconds, peak MiB) of a whole program in a fresh process, imports and output included
    (`_argv`), stdout to /dev/null."""
    argv = _argv(job, path)
    # The peak is the child's own VmHWM, read until it exits: the rusage of a child counts the
    # memory of the parent it was forked from.
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    status = Path(f"/proc/{proc.pid}/status")
    peak_kb = 0
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited with {proc.returncode}")
    return elapsed, peak_kb / 1024.0


def _cli_side_by_side(job: str, peer_job: str, path: Path) -> tuple[tuple, tuple]:
    """(seconds, peak MiB) of two whole programs, medians of `REPEATS` alternated runs."""
    ours, peer = [], []
    for _ in range(REPEATS):
        ours.append(measure_cli(job, path))
        peer.append(measure_cli(peer_job, path))
    return _median(ours), _median(peer)


def _cli_results(sizes: list[tuple[str, Path, int]]) -> tuple[list[Result], list[tuple]]:
    """The whole-program comparison at each size."""
    out: list[Result] = []
    growth = []
    for label, path, _rows in sizes:
        (ours_s, ours_mb), (peer_s, peer_mb) = _cli_side_by_side("ours", "peer", path)
        growth.append((label, ours_s, ours_mb, peer_s, peer_mb))
        out.append(
            Result(
                f"CLI: ger-replay score {label} --format json",
                ours_s,
                "python -c polars group-by",
                peer_s,
                ours_mb,
                peer_mb,
                note="whole programs in fresh processes: imports, reading, output; peak RSS; "
                f"median of {REPEATS} runs each, alternated",
            )
        )
    return out, growth


def _runs_result(path: Path) -> Result:
    """`ger-replay runs` at 10M (one streaming pass) against the polars group-by of its peer."""
    (ours_s, ours_mb), (peer_s, peer_mb) = _cli_side_by_side("runs", "runs-peer", path)
    return Result(
        "CLI: ger-replay runs 10M --format json",
        ours_s,
        "python -c polars group-by per run",
        peer_s,
        ours_mb,
        peer_mb,
        note=f"whole programs in fresh processes; peak RSS; median of {REPEATS} runs each",
    )


def _base_table(tmp: Path) -> tuple[Any, str]:
    """One copy of the predictions: the released sample, or synthetic runs of the same shape."""
    import polars as pl

    if SHARED_DATA.is_dir():
        from ger_replay.io.released import import_results

        df, errors = import_results(SHARED_DATA)
        assert not errors, errors
        return df, "released predictions"
    import numpy as np

    from ger_replay.io import table
    from ger_replay.protocol import datasets
    from ger_replay.protocol.rules import Rules

    rng = np.random.default_rng(0)
    frames = []
    for key in ("affectnet", "dfew", "twitter1", "cmumosi", "abstract", "rafdb"):
        ds = datasets.get(key)
        lab = Rules(ds)
        n = 1500
        if ds.binary is datasets.Binary.SENTIMENT_SCORE:
            gt = [str(x) for x in rng.choice([-2.0, -0.6, 0.0, 0.4, 1.8], n)]
        else:
            gt = [str(x) for x in rng.choice(ds.labels, n)]
        rankings = [
            [str(x) for x in rng.choice([*ds.labels, "Pain"], int(rng.integers(1, 4)))]
            for _ in range(n)
        ]
        firsts = [lab.first_candidate(r) for r in rankings]
        status = [table.OK if f else table.NO_CANDIDATE for f, _ in firsts]
        frames.append(
            table.run_frame(
                {"run": f"{key}/synthetic", "dataset": key},
                [f"s{i}" for i in range(n)],
                gt,
                rankings,
                [f for f, _ in firsts],
                status,
                invented=[inv for _, inv in firsts],
            )
        )
    return pl.concat(frames), "synthetic runs (../shared/data is absent)"


def _write_copies(
    base: Any, copies: int, out: Path, prefix: str = "c", interleave: bool = False
) -> None:
    """`copies` copies of `base` under distinct run names, streamed into one Parquet file: one
    copy after another, or (`interleave`) row by row across the copies."""
    import polars as pl

    k = pl.DataFrame({"copy": list(range(copies))}, schema={"copy": pl.Int32})
    name = pl.lit(prefix) + pl.col("copy").cast(pl.String).str.zfill(5) + "/" + pl.col("run")
    order = "right_left" if interleave else "left_right"
    (
        k.lazy()
        .join(base.lazy(), how="cross", maintain_order=order)
        .with_columns(name.alias("run"))
        .select(base.columns)
        .sink_parquet(out, engine="streaming")
    )


def run() -> list[Result]:
    big = "--100m" in sys.argv
    tmp = Path(tempfile.mkdtemp(prefix="ger-replay-bench-scale-"))
    try:
        base, what = _base_table(tmp)
        per = base.height
        sizes: list[tuple[str, Path, int]] = []
        for label, rows in (("1M", TARGET_10M // 10), ("10M", TARGET_10M)):
            copies = max(1, round(rows / per))
            path = tmp / f"p{label}.parquet"
            _write_copies(base, copies, path)
            sizes.append((label, path, copies * per))
        copies = max(1, round(TARGET_10M / per))
        _write_copies(base, copies, tmp / "p10M-interleaved.parquet", interleave=True)
        sizes.append(("10M interleaved", tmp / "p10M-interleaved.parquet", copies * per))
        if big:
            folder = tmp / "p100M"
            folder.mkdir()
            copies = max(1, round(TARGET_10M / per))
            for i in range(10):
                _write_copies(base, copies, folder / f"part-{i:02d}.parquet", prefix=f"p{i}c")
            sizes.append(("100M", folder, 10 * copies * per))
        out: list[Result] = []
        growth = []
        for label, path, rows in sizes:
            (ours_s, ours_mb, runs), (peer_s, peer_mb, peer_runs) = side_by_side(path)
            assert runs == peer_runs, (runs, peer_runs)
            growth.append((label, rows, runs, ours_s, ours_mb, peer_s, peer_mb))
            out.append(
                Result(
                    f"score {label} predictions ({rows:,} rows, {runs:,} runs)",
                    ours_s,
                    "polars group-by accuracy",
                    peer_s,
                    ours_mb,
                    peer_mb,
                    note=f"{what}; rules {RULES}; "
                    + ("a folder of 10 Parquet files" if path.is_dir() else "one Parquet file")
                    + f"; median of {REPEATS} runs each, alternated",
                )
            )
        label, path, rows = sizes[1]
        boot_s, boot_mb, runs = measure("ours+bootstrap", path)
        out.append(
            Result(
                f"score --bootstrap 1000, {label} ({runs:,} runs)",
                boot_s,
                "polars group-by accuracy",
                growth[1][5],
                boot_mb,
                growth[1][6],
                note="intervals from each run's confusion counts",
            )
        )
        cli, cli_growth = _cli_results(sizes)
        out.extend(cli)
        out.append(_runs_result(sizes[1][1]))
        _print_growth(growth, cli_growth)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _print_growth(growth: list[tuple], cli_growth: list[tuple]) -> None:
    print("\nscale: how time and memory grow (in process: the scoring call alone)", file=sys.stderr)
    print(
        f"{'size':>16} {'rows':>12} {'runs':>7} {'ours s':>8} {'ours MiB':>9} "
        f"{'peer s':>8} {'peer MiB':>9} {'time x':>7} {'mem x':>6}",
        file=sys.stderr,
    )
    for label, rows, runs, os_, om, ps, pm in growth:
        print(
            f"{label:>16} {rows:>12,} {runs:>7,} {os_:>8.2f} {om:>9.0f} {ps:>8.2f} {pm:>9.0f} "
            f"{os_ / ps:>7.1f} {om / pm:>6.1f}",
            file=sys.stderr,
        )
    print("\nscale, whole programs (imports, reading, JSON output; peak RSS)", file=sys.stderr)
    print(
        f"{'size':>16} {'ours s':>8} {'ours MiB':>9} {'peer s':>8} {'peer MiB':>9} "
        f"{'time x':>7} {'mem x':>6}",
        file=sys.stderr,
    )
    for label, os_, om, ps, pm in cli_growth:
        print(
            f"{label:>16} {os_:>8.2f} {om:>9.0f} {ps:>8.2f} {pm:>9.0f} "
            f"{os_ / ps:>7.1f} {om / pm:>6.1f}",
            file=sys.stderr,
        )
