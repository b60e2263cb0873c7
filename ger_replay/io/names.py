"""Runs of one name read from different inputs, told apart by their paths: nothing a load reads
is ever dropped silently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ger_replay.errors import GerReplayError, InputError, some_names

if TYPE_CHECKING:
    from ger_replay.io.load import LoadResult


def told_apart(
    found: Sequence[tuple[Path, LoadResult]],
) -> tuple[list[LoadResult], list[GerReplayError]]:
    """What each input gave, with runs of one name from different inputs told apart by the
    shortest part of their paths that differs (`a/sfew2/x`, `b/sfew2/x`): rows, provenance and
    calls renamed alike. An input given twice is kept once, with a message. Nothing is dropped
    silently."""
    owners: dict[str, list[int]] = {}
    for i, (_p, got) in enumerate(found):
        if got.table.height and "run" in got.table.columns:
            for r in got.table.get_column("run").unique().to_list():
                owners.setdefault(str(r), []).append(i)
    keep = [True] * len(found)
    rename: dict[int, dict[str, str]] = {}
    again: dict[int, list[str]] = {}  # input -> its runs another input gave already
    shared: dict[tuple[int, ...], list[str]] = {}  # inputs -> the run names they share
    for run, idx in owners.items():
        if len(idx) < 2:
            continue
        real: dict[Path, int] = {}
        for i in idx:
            key = found[i][0].resolve()
            if key in real:
                keep[i] = False
                again.setdefault(i, []).append(run)
            else:
                real[key] = i
        if len(real) >= 2:
            shared.setdefault(tuple(real.values()), []).append(run)
    # one note per input given again and per set of inputs sharing names, however many runs
    notes: list[GerReplayError] = [
        InputError(f"given more than once: run(s) {_quoted(runs)} counted once", found[i][0])
        for i, runs in again.items()
    ]
    for inputs, runs in shared.items():
        prefixes = _distinct_prefixes([found[i][0] for i in inputs])
        for i, prefix in zip(inputs, prefixes, strict=True):
            rename.setdefault(i, {}).update({run: f"{prefix}/{run}" for run in runs})
        notes.append(
            InputError(
                f"{len(inputs)} inputs hold run(s) named {_quoted(runs)} (one run given more "
                "than once, or two runs of one name): told apart as "
                + ", ".join(f"{p}/{runs[0] if len(runs) == 1 else '<run>'}" for p in prefixes)
            )
        )
    kept: list[LoadResult] = []
    for i, (_p, got) in enumerate(found):
        if not keep[i]:
            kept.append(replace(got, table=got.table.clear(), provenance={}, calls=[]))
            continue
        names = rename.get(i)
        if names:
            got = replace(
                got,
                table=got.table.with_columns(pl.col("run").replace(names)),
                provenance={names.get(k, k): v for k, v in got.provenance.items()},
                calls=[replace(c, run=names.get(c.run, c.run)) for c in got.calls],
            )
        kept.append(got)
    return kept, notes


def _quoted(runs: Sequence[str]) -> str:
    return some_names([repr(r) for r in sorted(runs)])


def _distinct_prefixes(paths: Sequence[Path]) -> list[str]:
    """For each path, the shortest run of its trailing parts that no other path shares."""
    parts = [p.resolve().parts for p in paths]
    for n in range(1, max(len(x) for x in parts) + 1):
        tails = ["/".join(x[-n:]) for x in parts]
        if len(set(tails)) == len(tails):
            return tails
    return [str(p) for p in paths]
