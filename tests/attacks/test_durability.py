"""Attack: answers that are not UTF-8, a full disk at every write, nonsense Retry-After values.
A paid answer is kept (losslessly), never paid twice, and the journal stays valid JSON."""

from __future__ import annotations

import base64
import errno
import json
import os
from pathlib import Path

import pytest
from attackkit import KEY, record
from hostile import Hostile

from ger_replay.errors import GerReplayError
from ger_replay.io import journal
from ger_replay.io import load as sources
from ger_replay.record import cassettes


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def test_a_non_utf8_answer_is_kept_losslessly_scored_and_never_paid_twice(tmp_path: Path) -> None:
    with Hostile("badutf8") as h:
        summary = record(tmp_path, h.url, n=6, batch_size=3)
        paid = h.requests
        assert summary.complete  # type: ignore[attr-defined]
        # a resume finds every batch done and pays nothing
        record(tmp_path, h.url, n=6, batch_size=3)
        assert h.requests == paid
    its = [
        it for f in sorted((tmp_path / "run/cassettes").glob("*.json")) for it in cassettes.read(f)
    ]
    assert len(its) == paid == 2
    for it in its:
        raw = base64.b64decode(it.response["body"][cassettes.RAW_BODY])
        assert b"\xff" in raw and json.loads(raw.replace(b"\xff", b""))["choices"]
    got = sources.load([tmp_path / "run"])
    assert got.errors == [] and got.table.height == 6
    assert set(got.table.get_column("status")) == {"ok"}


def test_a_resume_serves_answers_the_journal_kept_when_the_cassette_write_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cassettes.write
    calls = {"n": 0}

    def failing(path: Path, interactions: object, batch: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, interactions, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(cassettes, "write", failing)
    with Hostile("ok") as h:
        with pytest.raises(GerReplayError) as e:
            record(tmp_path, h.url, n=6, batch_size=3)
        assert "No space left on device" in str(e.value) and "\n" not in str(e.value)
        assert h.requests == 1  # stopped at once
        events = journal.read(tmp_path / "run/journal.jsonl")
        assert [ev["event"] for ev in events].count("response") == 1
        record(tmp_path, h.url, n=6, batch_size=3)
        assert h.requests == 2  # the first answer came from the journal, not paid again
    got = sources.load([tmp_path / "run"])
    assert got.errors == [] and got.table.height == 6


def test_a_full_disk_on_the_journal_stops_with_one_line_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fsync
    state: dict[str, object] = {"armed": False, "n": 0, "at_failure": None}
    server: list[Hostile] = []

    def fsync(fd: int) -> None:
        if state["armed"]:
            state["n"] = int(state["n"]) + 1  # type: ignore[call-overload]
            if int(state["n"]) >= 12:  # type: ignore[call-overload]
                if state["at_failure"] is None:
                    state["at_failure"] = server[0].requests
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    with Hostile("ok") as h:
        server.append(h)
        record(tmp_path, h.url, n=3, batch_size=3)  # one batch done before the disk fills
        (tmp_path / "manifest.csv").unlink()
        before = h.requests
        state["armed"] = True
        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(GerReplayError) as e:
            record(tmp_path / "b", h.url, n=9, batch_size=3, concurrency=2)
        assert "No space left on device" in str(e.value)
        monkeypatch.setattr(os, "fsync", real)
        # once the disk is full no new request goes out: only the other worker's call in
        # flight may still arrive
        assert state["at_failure"] is not None and h.requests > before
        assert h.requests - int(state["at_failure"]) <= 1  # type: ignore[call-overload]
        # everything on disk still reads, and the resume completes
        journal.read(tmp_path / "b/run/journal.jsonl")
        s = record(tmp_path / "b", h.url, n=9, batch_size=3)
        assert s.complete  # type: ignore[attr-defined]
    assert sources.load([tmp_path / "b/run"]).errors == []


@pytest.mark.parametrize(
    "value", ["inf", "nan", "-5", "1e308", "Fri, 31 Dec 9999 23:59:59 GMT", "garbage"]
)
def test_nonsense_retry_after_backs_off_and_keeps_the_journal_json(
    tmp_path: Path, value: str
) -> None:
    with Hostile("retry", retry_after=value) as h:
        s = record(tmp_path, h.url, n=3, batch_size=3)
    assert s.complete  # type: ignore[attr-defined]
    lines = (tmp_path / "run/journal.jsonl").read_text().splitlines()
    for line in lines:
        json.loads(line, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    limited = [
        e
        for e in journal.read(tmp_path / "run/journal.jsonl")
        if e.get("outcome") == "rate_limited"
    ]
    assert limited and all(e["retry_after"] is None and e["wait"] < 1 for e in limited)


def test_a_large_retry_after_is_capped_with_a_note() -> None:
    from ger_replay.record.client import MAX_WAIT, Client, retry_after_seconds

    assert retry_after_seconds({"retry-after": "600"}) == 600
    c = Client("http://127.0.0.1:9/v1", api_key="x" * 10)
    wait, note = c._wait(600.0, 0)
    assert wait == MAX_WAIT and "capped" in note
    c.close()


def test_an_absurdly_nested_answer_is_recorded_as_unparseable_not_a_crash(tmp_path: Path) -> None:
    with Hostile("deep") as h:
        s = record(tmp_path, h.url, n=3, batch_size=3, max_tries=1)
        assert s.complete  # type: ignore[attr-defined]
        paid = h.requests
        record(tmp_path, h.url, n=3, batch_size=3, max_tries=1)
        assert h.requests == paid
    got = sources.load([tmp_path / "run"])
    assert got.errors == [] and set(got.table.get_column("status")) == {"unparseable"}
