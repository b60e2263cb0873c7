"""Writes the hand-crafted hostile archives kept here (run once; the files are kept in git).

python tests/data/untrusted/make_files.py
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            info.mtime = 0
            if data is None:
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _m(name: str, data: bytes | None = b"x", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info, data


def _manifest(files: dict[str, bytes], runs: list[str]) -> tuple[tarfile.TarInfo, bytes]:
    m = {
        "format": "ger-replay-bundle",
        "manifest_version": 1,
        "run_schema_version": 1,
        "tool_version": "0.1.0",
        "labels": True,
        "runs": runs,
        "files": {
            k: {"sha256": hashlib.sha256(v).hexdigest(), "size": len(v)} for k, v in files.items()
        },
    }
    return _m("manifest.json", json.dumps(m).encode())


def main() -> None:
    gz = lambda b: gzip.compress(b, mtime=0)  # noqa: E731
    manifest = _manifest({}, [])
    out: dict[str, bytes] = {
        "dotdot.tar.gz": gz(_tar([manifest, _m("runs/../../evil.txt", b"pwned")])),
        "absolute.tar.gz": gz(_tar([manifest, _m("/tmp/ger-replay-evil.txt", b"pwned")])),
        "symlink.tar.gz": gz(
            _tar([manifest, _m("runs", None, tarfile.SYMTYPE, "/"), _m("runs/x", b"1")])
        ),
        "hardlink.tar.gz": gz(_tar([manifest, _m("runs/x", None, tarfile.LNKTYPE, "/etc/passwd")])),
        "device.tar.gz": gz(_tar([manifest, _m("runs/zero", None, tarfile.CHRTYPE)])),
        "fifo.tar.gz": gz(_tar([manifest, _m("runs/pipe", None, tarfile.FIFOTYPE)])),
        "pax-huge-header.tar.gz": gz(_tar([manifest, _m("runs/" + "n" * 300_000, b"1")])),
    }
    whole = gz(_tar([manifest, _m("runs/r/labels.csv", b"sample_id,gt\n" * 4000)]))
    out["truncated.tar.gz"] = whole[: len(whole) // 2]
    yaml = b"interactions:\n- request: !!python/object/apply:os.system ['touch /tmp/ger-pwned']\n"
    run_json = json.dumps(
        {"schema_version": 1, "kind": "ger-replay-run", "dataset": "sfew2", "model": "m"}
    ).encode()
    files = {"runs/r/run.json": run_json, "runs/r/cassettes/b00000.yaml": yaml}
    out["yaml-tag-bundle.tar.gz"] = gz(
        _tar([_manifest(files, ["r"]), *(_m(k, v) for k, v in files.items())])
    )
    bomb_head = tarfile.TarInfo("runs/r/cassettes/b00000.json")
    bomb_head.size = 100 << 30
    info, data = manifest
    info.size = len(data)
    padded = data + b"\0" * (-len(data) % 512)
    head = info.tobuf(format=tarfile.USTAR_FORMAT) + padded + bomb_head.tobuf()
    out["declared-100gib.tar.gz"] = gz(head + b"\0" * 4096)
    for name, data in out.items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
