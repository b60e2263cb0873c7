"""Bundles: run folders packed into one deterministic `.tar.gz` with a manifest of checksums,
and read back in place (into a private temporary folder) as a source for `score` and analyses
(read by `ger_replay.io.load`).

Layout: `manifest.json` first, then `runs/<run folder name>/` holding `run.json`, `labels.csv`
(unless packed without labels), `journal.jsonl` and `cassettes/*.json`. The same runs always give
the same bytes: members sorted, mtimes zero, owner root, fixed modes, no name or time in the gzip
header. Packing refuses, naming every file at fault, when a file holds a secret or image bytes,
when a run.json has the wrong schema, or when a cassette is not a JSON cassette.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ger_replay._version import __version__
from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import cassettes, safe_archive, safe_read, schema, scrub, secrets
from ger_replay.io.atomic import atomic_path, write_error
from ger_replay.io.tempdir import private_dir

SUFFIXES = (".tar.gz", ".tgz")
RUNS_DIR = "runs"
RUN_JSON = "run.json"
LABELS = "labels.csv"
JOURNAL = "journal.jsonl"
CASSETTES = "cassettes"
_YAML_SUFFIXES = (".yaml", ".yml")


class PackRefused(InputError):
    """Packing found problems; `problems` lists every one (each names its file)."""

    def __init__(self, problems: Sequence[GerReplayError]):
        super().__init__(f"refused to pack: {len(problems)} problem(s)")
        self.problems = list(problems)


@dataclass
class PackResult:
    path: Path
    sha256: str
    runs: list[str]
    files: int
    #: Files of the run folders that are not part of a run and were left out.
    skipped: list[str] = field(default_factory=list)


def tool_version() -> str:
    return __version__


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _regular(path: Path, problems: list[InputError]) -> bool:
    """Whether `path` is a regular file; a link or anything else is a problem (never followed)."""
    try:
        safe_read.check_regular(path)
    except InputError as e:
        problems.append(e)
        return False
    return True


def run_files(
    run: Path, labels: bool
) -> tuple[list[tuple[str, Path]], list[str], list[InputError]]:
    """(member path inside the run, file) pairs; skipped names; problems. Symbolic links and
    anything but regular files and the cassettes folder are refused, never followed."""
    files: list[tuple[str, Path]] = []
    skipped: list[str] = []
    problems: list[InputError] = []
    if not os.path.lexists(run / RUN_JSON):
        problems.append(InputError("not a run folder (no run.json)", run))
        return files, skipped, problems
    if _regular(run / RUN_JSON, problems):
        files.append((RUN_JSON, run / RUN_JSON))
    if labels:
        if not os.path.lexists(run / LABELS):
            problems.append(
                InputError("no labels.csv (pack with --no-labels to leave it out)", run)
            )
        elif _regular(run / LABELS, problems):
            files.append((LABELS, run / LABELS))
    if os.path.lexists(run / JOURNAL) and _regular(run / JOURNAL, problems):
        files.append((JOURNAL, run / JOURNAL))
    cdir = run / CASSETTES
    if cdir.is_symlink():
        problems.append(InputError("a symbolic link: refused", cdir))
    elif cdir.is_dir():
        for f in sorted(cdir.iterdir()):
            if f.name.startswith("."):
                continue
            if f.is_symlink() or not f.is_file():
                problems.append(InputError("not a regular file: refused", f))
            elif f.suffix.lower() in _YAML_SUFFIXES:
                problems.append(InputError("a YAML cassette: bundles carry JSON cassettes only", f))
            elif f.suffix.lower() == ".json":
                files.append((f"{CASSETTES}/{f.name}", f))
            else:
                skipped.append(str(f))
    for f in sorted(run.iterdir()):
        if f.name.startswith(".") or f.name in (RUN_JSON, LABELS, JOURNAL, CASSETTES):
            continue
        skipped.append(str(f))
    return files, skipped, problems


def read_run_files(
    run: Path, labels: bool
) -> tuple[list[tuple[str, bytes]], list[str], list[GerReplayError]]:
    """The files of a run folder that a bundle carries, read (bounded) and checked:
    (member path inside the run, bytes) pairs; skipped names; every problem found."""
    files, skipped, refused = run_files(run, labels)
    problems: list[GerReplayError] = list(refused)
    read: list[tuple[str, bytes]] = []
    for rel, f in files:
        try:
            data = safe_read.read_bytes(f, safe_read.MAX_CSV)
        except InputError as e:
            problems.append(e)
            continue
        problems.extend(check_member(rel, data, str(f)))
        read.append((rel, data))
    return read, skipped, problems


def check_member(name: str, data: bytes, shown: str) -> list[GerReplayError]:
    """Every problem of one file of a run: schema, cassette format, secrets, images."""
    problems: list[GerReplayError] = []
    base = PurePosixPath(name)
    try:
        if name == RUN_JSON:
            schema.check_run_json(schema.parse_json(data, shown), shown)
        elif base.parent.name == CASSETTES:
            cassettes.load_cassette(data, shown)
        elif name == JOURNAL:
            for n, line in enumerate(data.split(b"\n")[:-1], start=1):
                if line.strip() and not isinstance(safe_read.loads(line, shown), dict):
                    raise InputError("expected a JSON object", shown, n)
    except InputError as e:
        problems.append(e)
    problems.extend(f.error() for f in secrets.scan_bytes(data, shown))
    if scrub.contains_secret(data):
        problems.append(InputError("holds the value of a credential variable (a key)", shown))
    return problems


def pack(runs: Sequence[Path], out: Path, labels: bool = True) -> PackResult:
    """Packs run folders into a bundle at `out`, or raises `PackRefused` listing every problem."""
    if not runs:
        raise InputError("no run folders to pack")
    out = Path(out)
    if not out.name.endswith(SUFFIXES):
        raise InputError(f"a bundle is a {' or '.join(SUFFIXES)} file", out)
    problems: list[GerReplayError] = []
    members: dict[str, bytes] = {}
    names: list[str] = []
    skipped: list[str] = []
    for run in map(Path, runs):
        if not run.is_dir():
            problems.append(InputError("no such run folder", run))
            continue
        name = run.resolve().name
        if name in names:
            problems.append(InputError(f"two runs share the folder name {name!r}", run))
            continue
        names.append(name)
        files, skip, probs = read_run_files(run, labels)
        skipped.extend(skip)
        problems.extend(probs)
        for rel, data in files:
            members[f"{RUNS_DIR}/{name}/{rel}"] = data
    if problems:
        raise PackRefused(problems)
    manifest = {
        "format": schema.BUNDLE_FORMAT,
        "manifest_version": schema.MANIFEST_VERSION,
        "run_schema_version": schema.RUN_SCHEMA_VERSION,
        "tool_version": tool_version(),
        "labels": labels,
        "runs": sorted(names),
        "files": {
            k: {"sha256": hashlib.sha256(v).hexdigest(), "size": len(v)}
            for k, v in sorted(members.items())
        },
    }
    mbytes = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    _write_archive(out, [(schema.MANIFEST_NAME, mbytes), *sorted(members.items())])
    return PackResult(out, sha256_file(out), sorted(names), len(members), skipped)


def _write_archive(out: Path, members: Sequence[tuple[str, bytes]]) -> None:
    try:
        _write_members(out, members)
    except OSError as e:
        raise write_error(e, out) from None


def _write_members(out: Path, members: Sequence[tuple[str, bytes]]) -> None:
    with (
        atomic_path(out) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))


@dataclass
class OpenBundle:
    """A bundle unpacked into a private temporary folder (removed when the `with` ends)."""

    path: Path
    root: Path
    sha256: str
    members: list[safe_archive.Member]

    def shown(self, member: str) -> str:
        """How errors name a member: `BUNDLE:runs/x/run.json`."""
        return f"{self.path}:{member}"

    def run_dirs(self) -> list[Path]:
        d = self.root / RUNS_DIR
        return sorted(p for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    def read(self, member: str) -> bytes:
        return self.root.joinpath(*PurePosixPath(member).parts).read_bytes()


@contextmanager
def open_bundle(
    path: Path, limits: safe_archive.Limits = safe_archive.DEFAULT_LIMITS
) -> Iterator[OpenBundle]:
    """Unpacks a bundle safely (see `safe_archive`) into a private temporary folder."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such bundle file", path)
    try:
        digest = sha256_file(path)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    with private_dir("ger-replay-bundle-") as root:
        members = safe_archive.extract(path, root, limits)
        yield OpenBundle(path, root, digest, members)


def is_bundle(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(SUFFIXES)


def read_manifest(b: OpenBundle) -> dict[str, Any]:
    """The bundle's manifest, checked."""
    return schema.check_manifest(
        schema.parse_json(b.read(schema.MANIFEST_NAME), b.shown(schema.MANIFEST_NAME)),
        b.shown(schema.MANIFEST_NAME),
    )


def run_meta(b: OpenBundle, run_dir: Path) -> dict[str, Any]:
    """The checked run.json of one unpacked run, errors naming the member."""
    return schema.load_run_json(run_dir / RUN_JSON, b.shown(_rel(b, run_dir / RUN_JSON)))


def _rel(b: OpenBundle, p: Path) -> str:
    return p.relative_to(b.root).as_posix()


def renamed(e: GerReplayError, b: OpenBundle) -> GerReplayError:
    """Errors about unpacked files name the member inside the bundle, not the temporary path."""
    if e.path is not None:
        with suppress(ValueError):  # a path outside the bundle keeps its name
            e.path = b.shown(Path(e.path).resolve().relative_to(b.root.resolve()).as_posix())
    return e
