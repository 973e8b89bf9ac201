"""The adaptive limit: its pure policy table-driven with an injected clock, then the limiter's slots."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from core.config.defaults import PROBE_AFTER_S
from core.errors import (
    BadRequest,
    CircuitOpen,
    DeadlineReached,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
)
from core.resilience.limiter import AdaptiveLimiter, LimitState, Outcome, adapt, outcome_of

pytestmark = pytest.mark.anyio
CEILING = 64
NOW = 1000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (RateLimited("a", "m", "429"), "rate_limited"),
        (RateLimited("a", "m", "429", retry_after=3.0), "rate_limited"),
        (ProviderTimeout("a", "m", "no answer within 30 s"), "timed_out"),
        (DeadlineReached("a", "m", "the call's deadline"), "other"),
        (ProviderServerError("a", "m", "unavailable", 503), "other"),
        (ProviderUnreachable("a", "m", "refused"), "other"),
        (BadRequest("a", "m", "bad", 400), "other"),
        (CircuitOpen("a", "m", "cooling down", 3.0), "other"),
        (asyncio.CancelledError(), "other"),
        (ValueError("a bug"), "other"),
    ],
)
def test_outcome_of(error: BaseException | None, outcome: Outcome) -> None:
    assert outcome_of(error) == outcome


S = LimitState
T = PROBE_AFTER_S


@pytest.mark.parametrize(
    ("before", "outcome", "others", "limited", "now", "after"),
    [
        # -- cuts ------------------------------------------------------------------------------------
        pytest.param(S(64), "rate_limited", 19, True, NOW, S(10, 20, False, 0, NOW, 19), id="429-halves-the-flight"),
        pytest.param(S(8), "rate_limited", 2, True, NOW, S(1, 3, False, 0, NOW, 2), id="429-halves-few-in-flight"),
        pytest.param(S(5, 5, True), "rate_limited", 4, True, NOW, S(4, 5, False, 0, NOW, 4), id="429-after-a-step-up"),
        pytest.param(
            S(8, None, True), "rate_limited", 2, True, NOW, S(2, 3, False, 0, NOW, 2), id="429-not-above-rest"
        ),
        pytest.param(S(3), "rate_limited", 0, False, NOW, S(1, 1, False, 0, NOW, 0), id="429-alone-never-below-1"),
        pytest.param(S(64), "timed_out", 63, True, NOW, S(32, 64, False, 0, NOW, 63), id="timeout-halves"),
        pytest.param(S(64, None, True), "timed_out", 9, True, NOW, S(5, 10, False, 0, NOW, 9), id="timeout-halves-few"),
        pytest.param(S(1), "timed_out", 0, True, NOW, S(1, 1, False, 0, NOW, 0), id="timeout-never-below-1"),
        # -- the window after a cut -------------------------------------------------------------------
        pytest.param(
            S(10, 20, False, 0, 0.0, 19),
            "rate_limited",
            4,
            False,
            NOW,
            S(4, 5, False, 0, NOW, 18),
            id="window-429-lowers",
        ),
        pytest.param(
            S(10, 20, window=19), "rate_limited", 15, True, NOW, S(10, 20, window=18), id="window-429-more-left"
        ),
        pytest.param(S(32, 64, window=63), "timed_out", 62, True, NOW, S(32, 64, window=62), id="window-no-second-cut"),
        pytest.param(S(4, 5, window=3), "ok", 3, True, NOW, S(4, 5, window=2), id="window-no-growth"),
        # -- growth ----------------------------------------------------------------------------------
        pytest.param(S(10), "ok", 9, True, NOW, S(11, None, True, 0, NOW), id="ok-limited-grows"),
        pytest.param(S(10), "ok", 3, False, NOW, S(10), id="ok-not-limited-stays"),
        pytest.param(S(CEILING), "ok", 63, True, NOW, S(CEILING), id="never-above-the-ceiling"),
        pytest.param(S(2, 5), "ok", 1, True, NOW, S(3, 5, True, 0, NOW), id="quick-below-the-plateau"),
        pytest.param(S(4, 5, oks=2), "ok", 3, True, NOW, S(4, 5, oks=3), id="plateau-waits-a-round"),
        pytest.param(S(4, 5, oks=10), "ok", 3, True, T - 0.1, S(4, 5, oks=11), id="plateau-waits-a-while"),
        pytest.param(S(4, 5, oks=3), "ok", 3, True, T, S(5, 5, True, 0, T), id="plateau-then-probes-one"),
        pytest.param(S(5, 5, True, 4), "ok", 4, True, T, S(5, None, True, 0, T), id="held-probe-forgets"),
        pytest.param(S(1, 1), "ok", 0, True, T, S(1, None, False, 0, T), id="held-at-1-forgets"),
        # -- nothing ---------------------------------------------------------------------------------
        pytest.param(
            S(10, 20, True, 3, 5.0), "other", 9, True, NOW, S(10, 20, True, 3, 5.0), id="other-changes-nothing"
        ),
    ],
)
def test_adapt(before: LimitState, outcome: Outcome, others: int, limited: bool, now: float, after: LimitState) -> None:
    assert adapt(before, outcome, others=others, limited=limited, now=now, ceiling=CEILING) == after


@pytest.mark.parametrize("holds", [1, 4, 10, 40])
async def test_against_a_provider_that_holds_n_the_limit_settles_at_n_and_probes_rarely(holds: int) -> None:
    # A simulation with the real limiter: every slot always in use; each tick of 0.1 s, every request in
    # flight ends, the 429s first (they come back at once), the `holds` the provider took answered.
    clock = Clock()
    limiter = AdaptiveLimiter(CEILING, CEILING, clock=clock)
    refused_after_the_first_tick = 0
    for tick in range(600):
        while limiter.in_flight < limiter.limit:
            await limiter.acquire()
        flight = limiter.in_flight
        for outcome in ["rate_limited"] * max(0, flight - holds) + ["ok"] * min(flight, holds):
            limiter.release(outcome)  # type: ignore[arg-type]
            refused_after_the_first_tick += tick > 0 and outcome == "rate_limited"
        clock.now += 0.1
    assert limiter.limit in (holds, holds + 1)
    assert refused_after_the_first_tick <= 60 / PROBE_AFTER_S + 1, "one refused probe per PROBE_AFTER_S at most"


def test_initial_must_be_between_1_and_the_ceiling() -> None:
    with pytest.raises(ValueError, match="initial=0, ceiling=4"):
        AdaptiveLimiter(0, 4)
    with pytest.raises(ValueError, match="initial=5, ceiling=4"):
        AdaptiveLimiter(5, 4)


def test_a_release_without_a_slot_taken_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="without a slot taken"):
        AdaptiveLimiter(1, 1).release("ok")


async def test_slots_go_at_once_up_to_the_limit_then_first_come_first_served() -> None:
    limiter = AdaptiveLimiter(2, 2)
    served: list[int] = []

    async def take(n: int) -> None:
        await limiter.acquire()
        served.append(n)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for n in range(5):
                group.start_soon(take, n)
                await anyio.wait_all_tasks_blocked()  # so that they queue in this order
            assert (served, limiter.in_flight, limiter.waiting) == ([0, 1], 2, 3)
            for _ in range(3):
                limiter.release("other")
                await anyio.wait_all_tasks_blocked()
    assert (served, limiter.in_flight, limiter.waiting) == ([0, 1, 2, 3, 4], 2, 0)


async def test_a_newcomer_does_not_pass_those_waiting() -> None:
    limiter = AdaptiveLimiter(1, 1)
    await limiter.acquire()
    served: list[str] = []

    async def take(name: str) -> None:
        await limiter.acquire()
        served.append(name)
        limiter.release("ok")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(take, "waiting")
            await anyio.wait_all_tasks_blocked()
            limiter.release("ok")  # the slot goes to the one waiting ...
            group.start_soon(take, "newcomer")  # ... not to one that arrives before it runs
    assert served == ["waiting", "newcomer"]


async def test_a_cancelled_waiter_leaves_no_slot_taken() -> None:
    limiter = AdaptiveLimiter(1, 1)
    await limiter.acquire()
    with anyio.fail_after(5):
        with anyio.move_on_after(0) as scope:  # the caller's deadline, already past
            await limiter.acquire()
    assert scope.cancelled_caught and (limiter.in_flight, limiter.waiting) == (1, 0)
    limiter.release("other")
    with anyio.fail_after(5):
        await limiter.acquire()  # the only slot is free again
    assert limiter.in_flight == 1


async def test_a_waiter_cancelled_as_it_is_handed_a_slot_passes_it_on() -> None:
    limiter = AdaptiveLimiter(1, 1)
    await limiter.acquire()
    first = asyncio.create_task(limiter.acquire())
    second = asyncio.create_task(limiter.acquire())
    await anyio.wait_all_tasks_blocked()
    limiter.release("ok")  # hands the slot to `first` ...
    first.cancel()  # ... which is cancelled before it runs
    with anyio.fail_after(5):
        await second
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (limiter.in_flight, limiter.waiting) == (1, 0)


async def test_after_a_cut_new_requests_wait_until_enough_have_ended_and_growth_lets_them_in() -> None:
    limiter = AdaptiveLimiter(4, 8, clock=Clock())
    for _ in range(4):
        await limiter.acquire()
    limiter.release("timed_out")  # 4 in flight: halved to 2, with 3 still in flight
    assert (limiter.limit, limiter.in_flight) == (2, 3)
    admitted = anyio.Event()

    async def take() -> None:
        await limiter.acquire()
        admitted.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(take)
            await anyio.wait_all_tasks_blocked()
            limiter.release("ok")
            await anyio.wait_all_tasks_blocked()
            assert not admitted.is_set(), "2 still in flight, at a limit of 2"
            limiter.release("ok")
            await admitted.wait()
    limiter.release("ok")  # the window's last: no growth
    assert (limiter.limit, limiter.in_flight) == (2, 1)
    await limiter.acquire()
    limiter.release("ok")  # the limit held requests back: one more
    assert limiter.limit == 3
