"""The calling strategy (PROTOCOL.md part 5) and the client-side rate limiter, with fakes."""

from __future__ import annotations

import pytest

from ger_replay.record import strategy
from ger_replay.record.client import RateLimiter, image_tokens, jpeg_size, retry_after_seconds


class FakeModel:
    """Answers "ok" unless a call holds a bad sample, or fails the first `flaky` tries."""

    def __init__(self, bad: set[str] = frozenset(), flaky: int = 0) -> None:
        self.bad, self.flaky = set(bad), flaky
        self.log: list[tuple[tuple[str, ...], str, int]] = []

    def __call__(self, samples: tuple[str, ...], split: str, attempt: int) -> str:
        self.log.append((samples, split, attempt))
        if len(self.log) <= self.flaky:
            return "count_mismatch"
        return "refused" if self.bad & set(samples) else "ok"


def test_a_good_batch_takes_one_call() -> None:
    m = FakeModel()
    r = strategy.run_batch(["a", "b", "c"], 3, m)
    assert m.log == [(("a", "b", "c"), "", 1)]
    assert r.answered == 3 and r.unanswered == {} and r.calls == 1


def test_repeat_until_the_answer_qualifies() -> None:
    m = FakeModel(flaky=2)
    r = strategy.run_batch(["a", "b"], 3, m)
    assert [x[2] for x in m.log] == [1, 2, 3]
    assert r.answered == 2 and r.failed_calls == 2


def test_split_down_to_single_samples_and_mark_the_bad_one() -> None:
    m = FakeModel(bad={"c"})
    r = strategy.run_batch(["a", "b", "c", "d", "e"], 2, m)
    assert r.unanswered == {"c": "refused"}
    assert list(r.outcome) == ["a", "b", "c", "d", "e"]
    # whole batch twice, then halves [a b c] and [d e]
    assert m.log[:3] == [
        (("a", "b", "c", "d", "e"), "", 1),
        (("a", "b", "c", "d", "e"), "", 2),
        (("a", "b", "c"), "0", 1),
    ]
    assert (("c",), "01", 2) in m.log
    assert (("d", "e"), "1", 1) in m.log
    assert r.calls == len(m.log)
    lo, hi = strategy.planned_calls(5, 2)
    assert lo == 1 and lo <= r.calls <= hi


def test_strategy_is_deterministic_and_rejects_bad_input() -> None:
    a, b = FakeModel(bad={"x3"}), FakeModel(bad={"x3"})
    ids = [f"x{i}" for i in range(9)]
    strategy.run_batch(ids, 3, a)
    strategy.run_batch(ids, 3, b)
    assert a.log == b.log
    with pytest.raises(ValueError):
        strategy.run_batch(["a", "a"], 3, FakeModel())
    with pytest.raises(ValueError):
        strategy.run_batch(["a"], 0, FakeModel())


def test_halves_give_the_first_the_extra_sample() -> None:
    assert strategy.halves(["a", "b", "c"]) == (("a", "b"), ("c",))
    assert strategy.planned_calls(1, 3) == (1, 3)
    assert strategy.planned_calls(2, 3) == (1, 9)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_rate_limiter_paces_requests_and_honours_pauses() -> None:
    c = FakeClock()
    lim = RateLimiter(rpm=120, clock=c, sleep=c.sleep)
    for _ in range(10):
        lim.acquire()
    assert c.t == pytest.approx(4.5)  # 10 requests, 0.5 s apart
    lim.pause(7.0)
    lim.acquire()
    assert c.t == pytest.approx(11.5)
    tok = RateLimiter(tpm=6000, clock=c, sleep=c.sleep)
    start = c.t
    tok.acquire(1000)
    tok.acquire(1000)
    assert c.t - start == pytest.approx(10.0)  # 1000 tokens of 6000/min = 10 s


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "1"}) == 0.25
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


def test_image_token_estimate_reads_the_jpeg_size() -> None:
    import base64

    import cv2
    import numpy as np

    ok, buf = cv2.imencode(".jpg", np.zeros((300, 1000, 3), np.uint8))
    assert ok
    assert jpeg_size(buf.tobytes()) == (1000, 300)
    url = "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()
    assert image_tokens(url) == 85 + 170 * 2  # 1000x300 fits in one row of two tiles
    assert image_tokens(url, "low") == 85
