"""Hypothesis-driven mutation of valid bundles, tar streams, cassettes and run.json: the loaders
either succeed or fail with an error naming the file; never another exception, never a file left
outside their private folder. Inputs that once broke a loader are kept in tests/data/untrusted/."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_share_helpers import cassette, make_run, run_json

from ger_replay.errors import GerReplayError, InputError
from ger_replay.io import bundle, cassettes, schema, secrets, verify
from ger_replay.io import load as sources

#: GER_FUZZ_EXAMPLES=5000 for a long campaign; the suite's default keeps it to seconds.
FUZZ = settings(
    max_examples=int(os.environ.get("GER_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("fuzz")
    runs = [make_run(root, "run-a"), make_run(root, "run-b", repeat=1)]
    out = root / "b.tar.gz"
    bundle.pack(runs, out)
    return out.read_bytes()


@contextlib.contextmanager
def _private_tmp(folder: Path) -> Iterator[Path]:
    """Points tempfile at a folder of our own, so leftovers of other processes never count."""
    folder.mkdir(exist_ok=True)
    old = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = old


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        if not buf:
            break
        i = draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            buf[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del buf[i:]
        elif op == "insert":
            buf[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del buf[i : i + draw(st.integers(1, 600))]
    return bytes(buf)


def _open_everything(path: Path) -> None:
    with _private_tmp(path.parent / "tmp") as tmp:
        problems = verify.verify(path)
        assert all(isinstance(p, GerReplayError) for p in problems)
        assert all(str(p).startswith(str(path)) for p in problems), problems
        got = sources.load([path])
        assert all(isinstance(e, GerReplayError) for e in got.errors)
        if problems:
            assert got.table.height == 0
        assert list(tmp.iterdir()) == []  # nothing left behind, nothing written beside
        assert sorted(p.name for p in path.parent.iterdir()) == ["m.tar.gz", "tmp"]


@FUZZ
@given(data=st.data())
def test_mutated_compressed_bundle(valid: bytes, tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "m.tar.gz"
    path.write_bytes(data.draw(mutations(valid)))
    _open_everything(path)


@FUZZ
@given(data=st.data())
def test_mutated_tar_stream(valid: bytes, tmp_path: Path, data: st.DataObject) -> None:
    """Mutations inside the gzip layer reach the tar headers and the members."""
    path = tmp_path / "m.tar.gz"
    path.write_bytes(gzip.compress(data.draw(mutations(gzip.decompress(valid))), mtime=0))
    _open_everything(path)


def _resigned(valid: bytes, member: str, new: bytes) -> bytes:
    """The bundle with one member replaced and its manifest recomputed: what a careless or
    hostile sender can always produce."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(valid))) as src:
        files = {m.name: src.extractfile(m).read() for m in src.getmembers()}  # type: ignore[union-attr]
    files[member] = new
    manifest = json.loads(files.pop("manifest.json"))
    manifest["files"] = {
        k: {"sha256": hashlib.sha256(v).hexdigest(), "size": len(v)} for k, v in files.items()
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, body in [("manifest.json", json.dumps(manifest).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    return gzip.compress(buf.getvalue(), mtime=0)


@FUZZ
@given(data=st.data())
def test_resigned_bundle_with_mutated_cassette(
    valid: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    """Checksums hold, so the mutated cassette reaches the schema check and the run reader."""
    good = json.dumps(cassette("b00000", [(["s1", "s2"], "{'result': ['happy']}")]), indent=1)
    new = data.draw(mutations(good.encode()))
    path = tmp_path / "m.tar.gz"
    path.write_bytes(_resigned(valid, "runs/run-a/cassettes/b00000.json", new))
    _open_everything(path)


def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    _containers,
    max_leaves=12,
)


@FUZZ
@given(patch=st.dictionaries(st.sampled_from(list(schema.RUN_FIELDS)), json_values))
def test_run_json_fields(patch: dict[str, object]) -> None:
    meta = {**run_json("x"), **patch}
    try:
        out = schema.check_run_json(meta, "run.json")
    except InputError as e:
        assert str(e).startswith("run.json: ")
    else:
        assert out["schema_version"] == schema.RUN_SCHEMA_VERSION


@FUZZ
@given(value=json_values)
def test_cassette_shapes(value: object) -> None:
    try:
        cassettes.load_cassette(json.dumps(value).encode(), "c.json")
    except InputError as e:
        assert str(e).startswith("c.json")


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_scanners_total_on_any_bytes(raw: bytes) -> None:
    for f in secrets.scan_bytes(raw, "f"):
        assert f.line >= 1
    with contextlib.suppress(InputError):
        cassettes.load_cassette(raw, "c.json")


def test_deep_nesting_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"nested too deeply|not valid JSON"):
        cassettes.load_cassette(b"{" + b'"a":[' * 100_000, "c.json")
    with pytest.raises(InputError, match="nested too deeply"):
        schema.parse_json(b"[" * 100_000 + b"]" * 100_000, "run.json")
