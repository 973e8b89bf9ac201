"""The rate limits' arithmetic (core/resilience/rate_limits.py): the sliding minute, what one more request
does to the counts, the verdict, and a Retry-After that is exactly long enough."""

from __future__ import annotations

import random

import pytest

from core.resilience.rate_limits import RateCount, RateVerdict, counted, retry_after, seen, verdict, window_of

START = 600.0  # a window from 600 s to 660 s


@pytest.mark.parametrize(
    ("count", "now", "expected"),
    [
        pytest.param(RateCount(START, 5, 0), 630.0, 5.0, id="no previous window"),
        pytest.param(RateCount(START, 5, 10), START, 15.0, id="the previous window in full at the start"),
        pytest.param(RateCount(START, 5, 10), 630.0, 10.0, id="half of the previous window halfway"),
        pytest.param(RateCount(START, 5, 10), 659.0, 5 + 10 / 60, id="almost none of it at the end"),
        pytest.param(RateCount(START, 5, 10), 590.0, 15.0, id="a clock behind the window counts it in full"),
    ],
)
def test_the_sliding_count_weighs_the_previous_window_by_its_overlap(
    count: RateCount, now: float, expected: float
) -> None:
    assert seen(count, now) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("before", "now", "after"),
    [
        pytest.param(None, 615.0, RateCount(START, 1, 0), id="a caller's first request"),
        pytest.param(RateCount(START, 4, 2), 659.9, RateCount(START, 5, 2), id="the same window"),
        pytest.param(RateCount(START, 4, 2), 660.0, RateCount(660.0, 1, 4), id="the next window"),
        pytest.param(RateCount(START, 4, 2), 720.0, RateCount(720.0, 1, 0), id="after an idle window"),
        pytest.param(RateCount(START, 4, 2), 599.0, RateCount(START, 5, 2), id="a clock behind"),
    ],
)
def test_one_more_request_is_counted_in_its_window(before: RateCount | None, now: float, after: RateCount) -> None:
    assert counted(before, now) == after


@pytest.mark.parametrize(
    ("limit", "count", "now", "allowed", "retry_s"),
    [
        pytest.param(3, RateCount(START, 1, 0), 610.0, True, 0.0, id="under the limit"),
        pytest.param(3, RateCount(START, 3, 0), 610.0, True, 0.0, id="at the limit"),
        # Next window: 4 * (1 - f) + 1 <= 3 at f = 1/2, i.e. at 690 s.
        pytest.param(3, RateCount(START, 4, 0), 610.0, False, 80.0, id="over: wait into the next window"),
        # This window: 10 * (1 - f) + 2 <= 10 at f = 1/5, i.e. at 612 s.
        pytest.param(10, RateCount(START, 1, 10), START, False, 12.0, id="the previous window fades"),
        pytest.param(10, RateCount(START, 1, 10), 606.0, True, 0.0, id="faded enough"),
        pytest.param(10, RateCount(START, 1, 10), 590.0, False, 22.0, id="a clock behind waits longer"),
        # One allowed and one refused in a minute of 1: the next window starts at 2, so it waits it out.
        pytest.param(1, RateCount(START, 2, 0), START, False, 120.0, id="a limit of one"),
    ],
)
def test_the_verdict_and_how_long_to_wait(
    limit: int, count: RateCount, now: float, allowed: bool, retry_s: float
) -> None:
    assert verdict(count, limit, now) == RateVerdict(allowed, limit, pytest.approx(retry_s))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("retry_s", "header"), [(0.0, "1"), (0.2, "1"), (1.0, "1"), (1.0000000001, "1"), (11.2, "12"), (80.0, "80")]
)
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(retry_s: float, header: str) -> None:
    assert RateVerdict(False, 5, retry_s).retry_after_header == header


def test_a_refused_caller_that_waits_retry_after_is_let_in_and_not_a_moment_sooner() -> None:
    chance = random.Random(14)
    for _ in range(2000):
        limit = chance.randint(1, 20)
        now = START + chance.uniform(0, 60)
        count = RateCount(START, chance.randint(1, 40), chance.randint(0, 40))
        refused = verdict(count, limit, now)
        if refused.allowed:
            continue
        wait = refused.retry_after_s
        assert wait > 0, (limit, count, now)
        assert verdict(counted(count, now + wait), limit, now + wait).allowed, (limit, count, now, wait)
        if wait > 0.01:
            sooner = now + wait - 0.01
            assert not verdict(counted(count, sooner), limit, sooner).allowed, (limit, count, now, wait)


@pytest.mark.parametrize("limit", [0, -3])
def test_a_limit_below_one_is_refused_saying_what_is_valid(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 1 request per window"):
        verdict(RateCount(START, 1, 0), limit, START)
    with pytest.raises(ValueError, match="at least 1 request per window"):
        retry_after(RateCount(START, 1, 0), limit, START)


def test_windows_start_on_the_minute() -> None:
    assert (window_of(659.99), window_of(660.0), window_of(0.5)) == (START, 660.0, 0.0)
