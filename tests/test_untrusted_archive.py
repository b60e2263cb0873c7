"""Opening archives from strangers: nothing written outside the target, no links or devices,
bombs stopped early with bounded memory, damaged archives named in a clear error."""

from __future__ import annotations

import gzip
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_share_helpers import make_run, member, tar_gz

from ger_replay.cli import main
from ger_replay.errors import InputError
from ger_replay.io import bundle, safe_archive, verify
from ger_replay.io import load as sources
from ger_replay.io.safe_archive import ArchiveError, Limits

DATA = Path(__file__).parent / "data" / "untrusted"


def _extract(tmp_path: Path, data: bytes, limits: Limits = safe_archive.DEFAULT_LIMITS):
    tmp_path.mkdir(parents=True, exist_ok=True)
    arc = tmp_path / "x.tar.gz"
    arc.write_bytes(data)
    dest = tmp_path / "dest"
    dest.mkdir()
    return arc, dest, lambda: safe_archive.extract(arc, dest, limits)


def _files_outside(tmp_path: Path, dest: Path, arc: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p != arc and p != dest and dest not in p.parents]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../evil.txt", "'..' in the path"),
        ("ok/../../evil.txt", "'..' in the path"),
        ("/tmp/evil.txt", "absolute path"),
        ("C:/evil.txt", "absolute path"),
        ("a\\..\\evil.txt", "backslash"),
    ],
)
def test_escaping_names_refused(tmp_path: Path, name: str, why: str) -> None:
    arc, dest, run = _extract(tmp_path, tar_gz([member("fine.txt"), member(name, b"pwned")]))
    with pytest.raises(ArchiveError, match=why) as ei:
        run()
    assert str(arc) in str(ei.value)
    assert _files_outside(tmp_path, dest, arc) == []
    assert not Path("/tmp/evil.txt").exists() or Path("/tmp/evil.txt").read_bytes() != b"pwned"


@pytest.mark.parametrize(
    ("kind", "link", "why"),
    [
        (tarfile.SYMTYPE, "/etc/passwd", "symbolic link"),
        (tarfile.SYMTYPE, "../..", "symbolic link"),
        (tarfile.LNKTYPE, "fine.txt", "hard link"),
        (tarfile.CHRTYPE, "", "a device"),
        (tarfile.BLKTYPE, "", "a device"),
        (tarfile.FIFOTYPE, "", "FIFO"),
    ],
)
def test_links_and_devices_refused(tmp_path: Path, kind: bytes, link: str, why: str) -> None:
    data = tar_gz([member("fine.txt"), member("runs/x", kind=kind, link=link)])
    _arc, dest, run = _extract(tmp_path, data)
    with pytest.raises(ArchiveError, match=why):
        run()
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_symlink_then_file_through_it(tmp_path: Path) -> None:
    """The classic: a link to outside, then a file written 'inside' the link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tar_gz([member("d", kind=tarfile.SYMTYPE, link=str(outside)), member("d/x", b"pwned")])
    _arc, _dest, run = _extract(tmp_path, data)
    with pytest.raises(ArchiveError, match="symbolic link"):
        run()
    assert list(outside.iterdir()) == []


def test_duplicate_and_file_under_file(tmp_path: Path) -> None:
    _a, _d, run = _extract(tmp_path, tar_gz([member("a", b"1"), member("a", b"2")]))
    with pytest.raises(ArchiveError, match="appears twice"):
        run()
    _a, _d, run = _extract(tmp_path / "2", tar_gz([member("a", b"1"), member("a/b", b"2")]))
    with pytest.raises(ArchiveError, match="lies under a file"):
        run()


def _bomb(path: Path, gib: int) -> None:
    """A tar.gz expanding to `gib` GiB of zeros: one member header, then many gzip members of
    1 MiB of zeros each (gzip streams concatenate), so writing it is quick."""
    head = tarfile.TarInfo("runs/big/cassettes/b00000.json")
    head.size = gib << 30
    chunk = gzip.compress(b"\0" * (1 << 20), compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(gzip.compress(head.tobuf(format=tarfile.USTAR_FORMAT), mtime=0))
        for _ in range(gib << 10):
            f.write(chunk)


def test_gzip_bomb_stopped_early_with_bounded_memory(tmp_path: Path) -> None:
    arc = tmp_path / "bomb.tar.gz"
    _bomb(arc, 4)  # 4 GiB of zeros in ~4 MiB
    assert arc.stat().st_size < 8 << 20
    dest = tmp_path / "dest"
    dest.mkdir()
    # with the default limits the declared size alone refuses it
    with pytest.raises(ArchiveError, match="limit"):
        safe_archive.extract(arc, dest)
    # under a generous member limit, the expansion ratio stops it after a few MiB
    (dest / "runs/big/cassettes/b00000.json").unlink(missing_ok=True)
    limits = Limits(max_member=8 << 30, max_total=8 << 30)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ArchiveError, match="archive bomb") as ei:
        safe_archive.extract(arc, dest, limits)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(arc) in str(ei.value)
    assert peak < 32 << 20, peak
    assert elapsed < 10, elapsed
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    assert written <= 2 * limits.ratio_after


def test_total_size_and_member_count_limits(tmp_path: Path) -> None:
    data = tar_gz([member(f"f{i}", b"y" * 1000) for i in range(20)])
    _a, _d, run = _extract(tmp_path, data, Limits(max_total=8 << 10, ratio_after=1 << 30))
    with pytest.raises(ArchiveError, match="expands beyond"):
        run()
    _a, _d, run = _extract(tmp_path / "2", data, Limits(max_members=5))
    with pytest.raises(ArchiveError, match="more than 5 members"):
        run()


def test_huge_extended_header_refused_before_reading(tmp_path: Path) -> None:
    long_name = "d/" + "n" * 200_000
    data = tar_gz([member(long_name, b"x")])  # PAX record of 200 kB
    _a, _d, run = _extract(tmp_path, data)
    with pytest.raises(ArchiveError, match="extended tar header"):
        run()


def test_truncated_and_corrupted(tmp_path: Path) -> None:
    good = tar_gz([member("a", b"hello " * 5000), member("b", b"world")])
    for i, data in enumerate([good[: len(good) // 2], good[:5], b"", b"not an archive at all"]):
        arc, _dest, run = _extract(tmp_path / str(i), data)
        with pytest.raises(InputError) as ei:
            run()
        assert str(ei.value).startswith(str(arc))
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    arc, _d, run = _extract(tmp_path / "flip", bytes(bad))
    with pytest.raises(InputError, match=r"truncated or corrupted|corrupted|truncated"):
        run()
    # a damaged tar header after the first member, inside a valid gzip stream
    raw = bytearray(gzip.decompress(good))
    header_b = 512 + -(-len(b"hello " * 5000) // 512) * 512
    raw[header_b + 100] ^= 0x55  # the mode field: the header checksum no longer matches
    arc, _d, run = _extract(tmp_path / "hdr", gzip.compress(bytes(raw)))
    with pytest.raises(ArchiveError, match="corrupted"):
        run()


def test_cli_verify_and_score_name_the_bad_archive(tmp_path: Path) -> None:
    arc = tmp_path / "evil.tar.gz"
    arc.write_bytes(tar_gz([member("manifest.json", b"{}"), member("../../x", b"1")]))
    cli = CliRunner()
    r = cli.invoke(main, ["verify", str(arc)])
    assert r.exit_code == 1 and f"{arc}: member '../../x'" in r.output
    r = cli.invoke(main, ["score", str(arc)])
    assert r.exit_code == 2 and f"{arc}: member '../../x'" in r.output
    assert not (tmp_path.parent / "x").exists()


def test_regression_files(tmp_path: Path) -> None:
    """Inputs kept from fuzzing and hand-crafted attacks: each gives a clear, named error."""
    files = sorted(DATA.glob("*.tar.gz"))
    assert len(files) >= 10
    for f in files:
        problems = verify.verify(f)
        assert problems, f.name
        assert all(str(p).startswith(str(f)) for p in problems), (f.name, problems)
        got = sources.load([f])  # score refuses it the same way, without a traceback
        assert got.table.height == 0 and got.errors, f.name
        assert all(str(e).startswith(str(f)) for e in got.errors), (f.name, got.errors)


def test_bundle_limits_apply_to_open(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r")
    out = tmp_path / "b.tar.gz"
    bundle.pack([run], out)
    with (
        pytest.raises(ArchiveError, match="more than 2 members"),
        bundle.open_bundle(out, Limits(max_members=2)),
    ):
        pass


def test_plain_zlib_damage_is_an_input_error(tmp_path: Path) -> None:
    payload = gzip.compress(b"x" * 100)
    raw = bytearray(payload)
    raw[12] ^= 0xFF  # inside the deflate stream
    _a, _d, run = _extract(tmp_path, bytes(raw))
    with pytest.raises(InputError, match="truncated or corrupted"):
        run()
