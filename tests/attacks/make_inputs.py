"""Hostile inputs, each made from a good recorded run (or from nothing): the files that broke
score, export, report, compare, verify and diff for every input at once.

Run as a script to write them all into a folder: `python tests/attacks/make_inputs.py GOOD_RUN OUT`.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

DEEP = 100_000


def _copy(good: Path, dst: Path, name: str) -> Path:
    shutil.copytree(good, dst, symlinks=True)
    meta = json.loads((dst / "run.json").read_text())
    meta["name"] = name
    (dst / "run.json").write_text(json.dumps(meta))
    return dst


def _first_cassette(run: Path) -> Path:
    return sorted((run / "cassettes").glob("b*.json"))[0]


def nested_cassette(good: Path, dst: Path) -> Path:
    run = _copy(good, dst, "nested-cassette")
    _first_cassette(run).write_text('{"interactions": ' + "[" * DEEP + "]" * DEEP + "}")
    return run


def wrong_type_metadata(good: Path, dst: Path) -> Path:
    run = _copy(good, dst, "wrong-type-metadata")
    c = _first_cassette(run)
    data = json.loads(c.read_text())
    data["metadata"] = {"ger_replay": "calls"}
    c.write_text(json.dumps(data))
    return run


def nested_journal(good: Path, dst: Path) -> Path:
    run = _copy(good, dst, "nested-journal")
    with (run / "journal.jsonl").open("a") as f:
        f.write('{"event": ' + "[" * DEEP + "]" * DEEP + "}\n")
    return run


def nested_run_json(good: Path, dst: Path) -> Path:
    run = _copy(good, dst, "nested-run-json")
    (run / "run.json").write_text('{"schema_version": 1, "x": ' + "[" * DEEP + "]" * DEEP + "}")
    return run


def _labels(good: Path, dst: Path, name: str, labels: list[str]) -> Path:
    run = _copy(good, dst, name)
    meta = json.loads((run / "run.json").read_text())
    meta["labels"] = labels
    (run / "run.json").write_text(json.dumps(meta))
    return run


def folding_labels(good: Path, dst: Path) -> Path:
    return _labels(good, dst, "folding-labels", ["Happy", " happy ", "Sad"])


def empty_label(good: Path, dst: Path) -> Path:
    return _labels(good, dst, "empty-label", ["", "Happy", "Sad"])


def many_labels(good: Path, dst: Path) -> Path:
    return _labels(good, dst, "many-labels", [f"label{i}" for i in range(200_000)])


def _linked(good: Path, dst: Path, name: str, member: str) -> Path:
    run = _copy(good, dst, f"linked-{name}")
    secret = dst.parent / f"credentials-{name}.txt"
    target = run / member
    secret.write_bytes(target.read_bytes())  # a file that would read fine, through a link
    target.unlink()
    target.symlink_to(secret)
    return run


def linked_labels(good: Path, dst: Path) -> Path:
    return _linked(good, dst, "labels", "labels.csv")


def linked_journal(good: Path, dst: Path) -> Path:
    return _linked(good, dst, "journal", "journal.jsonl")


def linked_run_json(good: Path, dst: Path) -> Path:
    return _linked(good, dst, "run-json", "run.json")


def linked_cassette(good: Path, dst: Path) -> Path:
    run = _copy(good, dst, "linked-cassette")
    c = _first_cassette(run)
    return _linked_member(run, c)


def _linked_member(run: Path, c: Path) -> Path:
    secret = run.parent / "credentials-cassette.json"
    secret.write_bytes(c.read_bytes())
    c.unlink()
    c.symlink_to(secret)
    return run


BAD_RUNS: dict[str, Callable[[Path, Path], Path]] = {
    "nested-cassette": nested_cassette,
    "wrong-type-metadata": wrong_type_metadata,
    "nested-journal": nested_journal,
    "nested-run-json": nested_run_json,
    "folding-labels": folding_labels,
    "empty-label": empty_label,
    "many-labels": many_labels,
    "linked-labels": linked_labels,
    "linked-journal": linked_journal,
    "linked-run-json": linked_run_json,
    "linked-cassette": linked_cassette,
}


def nested_json(path: Path) -> Path:
    path.write_text("[" * DEEP + "]" * DEEP)
    return path


def _tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def _file(
    name: str, data: bytes, pax: dict[str, str] | None = None
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    if pax:
        info.pax_headers = pax
    return info, data


def deep_bundle(path: Path, levels: int = 1200) -> Path:
    """About 1,200 nested folders (each a member), then a file at the bottom."""
    members = []
    name = ""
    for i in range(levels):
        name += f"d{i % 10}/"
        info = tarfile.TarInfo(name.rstrip("/"))
        info.type = tarfile.DIRTYPE
        members.append((info, b""))
    members.append(_file(name + "x.json", b"{}"))
    path.write_bytes(gzip.compress(_tar(members), mtime=0))
    return path


def pax_bundle(good_bundle: Path, path: Path) -> Path:
    """A good bundle whose manifest carries a pax record no bundle needs (hidden data)."""
    return _rewrite(good_bundle, path, pax={"comment": "hidden " + "x" * 200})


def trailing_bundle(good_bundle: Path, path: Path) -> Path:
    """A good bundle with data after the tar's end-of-archive marker."""
    raw = gzip.decompress(good_bundle.read_bytes()) + b"hidden data after the end" * 40
    path.write_bytes(gzip.compress(raw, mtime=0))
    return path


def _rewrite(good_bundle: Path, path: Path, pax: dict[str, str]) -> Path:
    members = []
    with tarfile.open(good_bundle) as tf:
        for info in tf.getmembers():
            data = tf.extractfile(info).read()  # type: ignore[union-attr]
            members.append(_file(info.name, data, pax if info.name == "manifest.json" else None))
    path.write_bytes(gzip.compress(_tar(members), mtime=0))
    return path


#: Strings a spreadsheet would run as formulas, and one that is just a negative number.
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx"]
ANSI = "\x1b[31mred\x1b[0m\x1b]8;;http://x\x07link\x1b]8;;\x07\x9b2J"


def hostile_names(path: Path) -> Path:
    """A predictions table whose run, sample and model names start formulas, carry terminal
    escapes and HTML."""
    rows = []
    for r, run in enumerate([FORMULAS[0], ANSI + "run", "<script>alert(1)</script>|run"]):
        for i, sid in enumerate([*FORMULAS, "-3", "plain"]):
            rows.append(
                {
                    "run": run,
                    "dataset": "sfew2",
                    "sample_id": sid,
                    "gt": "Happy",
                    "pred": "Happy" if (i + r) % 2 else "Sad",
                    "status": "ok",
                    "model": FORMULAS[3],
                }
            )
    pl.DataFrame(rows).write_parquet(path)
    return path


if __name__ == "__main__":
    good, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for name, make in BAD_RUNS.items():
        make(good, out / name)
    nested_json(out / "nested.json")
    deep_bundle(out / "deep.tar.gz")
    hostile_names(out / "hostile-names.parquet")
    print(f"hostile inputs written to {out}")
