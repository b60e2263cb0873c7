"""`ger-replay verify`: is a bundle (or a run folder) intact, current and clean?

A bundle holds when it unpacks safely, its manifest is valid, every file the manifest lists is
present with its size and sha256, no file is unlisted or out of place, every run.json has a schema
this tool reads, every cassette is a JSON cassette, and no file holds a secret or image bytes.
Every problem is listed, each naming its file (and line where there is one).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import bundle as bundle_mod
from ger_replay.io import schema, secrets


def verify(path: Path) -> list[GerReplayError]:
    """Every problem of a bundle file or a run folder; empty when all checks hold."""
    path = Path(path)
    if path.is_dir():
        return verify_run_dir(path)
    try:
        with bundle_mod.open_bundle(path) as b:
            return check_open(b)
    except GerReplayError as e:
        return [e]


def check_open(b: bundle_mod.OpenBundle) -> list[GerReplayError]:
    """The checks of `verify` on an unpacked bundle."""
    problems: list[GerReplayError] = []
    mname = schema.MANIFEST_NAME
    have = {m.name: m for m in b.members}
    if mname not in have:
        return [InputError("no manifest.json: not a ger-replay bundle", b.path)]
    try:
        manifest = schema.check_manifest(
            schema.parse_json(b.read(mname), b.shown(mname)), b.shown(mname)
        )
    except InputError as e:
        return [e]
    listed: dict[str, dict[str, object]] = manifest["files"]
    for name, entry in sorted(listed.items()):
        m = have.get(name)
        if m is None:
            problems.append(InputError("listed in the manifest but missing", b.shown(name)))
        elif m.size != entry["size"] or m.sha256 != entry["sha256"]:
            problems.append(
                InputError(
                    f"altered: sha256 {m.sha256[:12]}… ({m.size} bytes) differs from the "
                    f"manifest's {str(entry['sha256'])[:12]}… ({entry['size']} bytes)",
                    b.shown(name),
                )
            )
    for name in sorted(set(have) - set(listed) - {mname}):
        problems.append(InputError("not listed in the manifest", b.shown(name)))
    runs = set(manifest["runs"])
    for name in sorted(have):
        if name == mname:
            continue
        where = _placement(name, runs)
        if where:
            problems.append(InputError(where, b.shown(name)))
            continue
        problems.extend(bundle_mod.check_member(_in_run(name), b.read(name), b.shown(name)))
    problems.extend(f.error() for f in secrets.scan_bytes(b.read(mname), b.shown(mname)))
    for run in sorted(runs):
        base = f"{bundle_mod.RUNS_DIR}/{run}"
        if f"{base}/{bundle_mod.RUN_JSON}" not in have:
            problems.append(InputError("run without run.json", b.shown(base)))
        if manifest.get("labels", True) and f"{base}/{bundle_mod.LABELS}" not in have:
            problems.append(InputError("run without labels.csv", b.shown(base)))
    return problems


def _in_run(name: str) -> str:
    """`runs/<run>/cassettes/b.json` -> `cassettes/b.json`."""
    return "/".join(PurePosixPath(name).parts[2:])


def _placement(name: str, runs: set[str]) -> str | None:
    """Why a member is out of place, or None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or parts[0] != bundle_mod.RUNS_DIR:
        return "unexpected file outside runs/"
    if parts[1] not in runs:
        return f"belongs to run {parts[1]!r}, which the manifest does not list"
    rest = parts[2:]
    if rest in ((bundle_mod.RUN_JSON,), (bundle_mod.LABELS,), (bundle_mod.JOURNAL,)):
        return None
    if len(rest) == 2 and rest[0] == bundle_mod.CASSETTES:
        if rest[1].lower().endswith(".json"):
            return None
        return "not a JSON cassette (bundles carry JSON cassettes only)"
    return "unexpected file in a run"


def verify_run_dir(run: Path) -> list[GerReplayError]:
    """A run folder before packing: schema, cassette format, no secrets, no images."""
    _files, _skipped, problems = bundle_mod.read_run_files(
        run, labels=os.path.lexists(run / "labels.csv")
    )
    return problems
