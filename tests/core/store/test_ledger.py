"""The ledger, on SQLite and PostgreSQL: one row per call, what each cap's window counts, reservations that
hold the caps under 100 concurrent calls and across two server processes, and spending by AI and model."""

from __future__ import annotations

import math
import sys
from calendar import timegm

import anyio
import pytest

from core.errors import BudgetExceeded
from core.money.caps import Cap, Window, check_call_cost, over_cap, resets_at, window_start
from core.store.database import Store
from core.store.ledger import SpendRow
from tests.core.together import run_together

pytestmark = pytest.mark.anyio
DEADLINE_S = 60
# 2026-11-30 15:00 UTC: the last day of a month.
NOW = float(timegm((2026, 11, 30, 15, 0, 0)))
DAILY = Cap("daily", 1.0, "day")


def at(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Seconds since the epoch of a moment in UTC."""
    return float(timegm((year, month, day, hour, minute, 0)))


async def reserve(store: Store, estimate_usd: float, *caps: Cap, ai: str = "gemini", now: float = NOW) -> int:
    return await store.ledger.reserve(
        caps=caps or (DAILY,), ai=ai, model="m", tool="ask_ai", thread_id=None, estimate_usd=estimate_usd, now=now
    )


async def test_a_reservation_holds_its_estimate_until_the_call_is_settled_or_released(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        first = await reserve(store, 0.30)
        held = await store.ledger.spent([DAILY])
        assert await store.ledger.settle(first, cost_usd=0.10, input_tokens=100, output_tokens=20, latency_s=1.5)
        settled = await store.ledger.spent([DAILY])
        failed = await reserve(store, 0.50)
        assert await store.ledger.release(failed, "unreachable")
        sent_then_failed = await reserve(store, 0.50)
        assert await store.ledger.release(sent_then_failed, "server_error", cost_usd=0.05)
        assert not await store.ledger.settle(first, cost_usd=0.2)  # settled already: nothing changes
        final = await store.ledger.spent([DAILY])
    assert (held, settled, final) == ({"daily": 0.30}, {"daily": 0.10}, {"daily": pytest.approx(0.15)})


async def test_a_settled_call_whose_cost_is_unknown_counts_its_estimate(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        await store.ledger.settle(await reserve(store, 0.40), cost_usd=None)
        await store.ledger.record(
            ai="gemini", model="m", tool="ask_ai", thread_id=None, cost_usd=None, estimate_usd=0.1
        )
        assert await store.ledger.spent([DAILY]) == {"daily": pytest.approx(0.50)}


async def test_a_call_cancelled_after_it_was_sent_keeps_counting_its_estimate_raised_to_what_it_streamed(
    url: str,
) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        ledger = store.ledger
        assert await ledger.release(await reserve(store, 0.30), "cancelled")  # before sending: nothing spent
        sent = await reserve(store, 0.30)
        assert await ledger.settle(sent, cost_usd=None, outcome="cancelled", streamed_tokens=120, note="cut")
        past_max_tokens = await reserve(store, 0.10)  # streamed more than its worst case: counted as streamed
        assert await ledger.settle(past_max_tokens, cost_usd=None, outcome="cancelled", estimate_usd=0.25)
        spent = await ledger.spent([DAILY])
        [row] = await ledger.spend(since=0)
    assert spent == {"daily": pytest.approx(0.55)}
    assert (row.calls, row.errors, row.cancelled, row.unknown_cost_calls) == (3, 0, 2, 2)
    assert (row.cost_usd, row.unknown_cost_usd) == (0.0, pytest.approx(0.55))


async def test_a_call_over_a_cap_is_refused_naming_the_cap_what_is_spent_and_when_it_resets(url: str) -> None:
    cap = Cap("daily", 5.0, "day")
    async with Store(url, clock=lambda: NOW) as store:
        await store.ledger.record(ai="grok", model="m", tool="ask_ai", thread_id="t1", cost_usd=4.98)
        expected = r"^daily cap of \$5\.00 reached: \$4\.98 spent today, this call may cost up to \$0\.05; resets "
        with pytest.raises(BudgetExceeded, match=expected + r"2026-12-01 00:00 UTC$") as raised:
            await reserve(store, 0.05, cap)
        assert await store.ledger.spent([cap]) == {"daily": 4.98}  # nothing was written
        assert await reserve(store, 0.02, cap) > 0  # what still fits goes through
    error = raised.value
    assert (error.kind, error.cap, error.limit_usd, error.spent_usd, error.resets_at) == (
        "budget_exceeded",
        "daily",
        5.0,
        4.98,
        at(2026, 12, 1, 0, 0),
    )


async def test_an_ais_own_cap_counts_only_its_calls_and_the_common_cap_counts_all(url: str) -> None:
    common, own = Cap("daily", 1.0, "day"), Cap("daily:gemini", 0.5, "day", ai="gemini")
    async with Store(url, clock=lambda: NOW) as store:
        await reserve(store, 0.45, common, own)
        await reserve(store, 0.40, common, ai="grok")
        with pytest.raises(BudgetExceeded, match=r"gemini's daily cap of \$0\.50 reached: \$0\.45 spent on gemini"):
            await reserve(store, 0.10, common, own)
        with pytest.raises(BudgetExceeded, match=r"^daily cap of \$1\.00 reached: \$0\.85 spent today"):
            await reserve(store, 0.20, common, ai="grok")
        assert await store.ledger.spent([common, own]) == {
            "daily": pytest.approx(0.85),
            "daily:gemini": pytest.approx(0.45),
        }


async def test_yesterday_counts_against_the_month_and_not_the_day(url: str) -> None:
    daily, monthly = Cap("daily", 1.0, "day"), Cap("monthly", 1.5, "month")
    async with Store(url) as store:
        await store.ledger.record(ai="gemini", model="m", tool=None, thread_id=None, cost_usd=0.9, now=NOW - 86_400)
        await store.ledger.record(
            ai="gemini", model="m", tool=None, thread_id=None, cost_usd=5.0, now=at(2026, 10, 31, 23, 59)
        )
        assert await store.ledger.spent([daily, monthly], now=NOW) == {"daily": 0.0, "monthly": 0.9}
        with pytest.raises(BudgetExceeded, match=r"^monthly cap .* spent this month, .* resets 2026-12-01 00:00 UTC"):
            await reserve(store, 0.7, daily, monthly)


async def test_when_two_caps_are_reached_the_one_that_resets_last_is_named(url: str) -> None:
    daily, monthly = Cap("daily", 1.0, "day"), Cap("monthly", 1.0, "month")
    async with Store(url) as store:
        await reserve(store, 0.9, daily, monthly, now=at(2026, 11, 10, 12, 0))
        with pytest.raises(BudgetExceeded, match=r"^monthly cap"):
            await reserve(store, 0.2, daily, monthly, now=at(2026, 11, 10, 12, 0))


async def test_a_reservation_left_by_a_dead_process_stops_counting_after_its_hold(url: str) -> None:
    async with Store(url) as store:
        reservation = await store.ledger.reserve(
            caps=[DAILY], ai="gemini", model="m", tool="ask_ai", thread_id=None, estimate_usd=0.8, now=NOW, hold_s=60
        )
        during = await store.ledger.spent([DAILY], now=NOW + 59)
        after = await store.ledger.spent([DAILY], now=NOW + 61)
        assert await reserve(store, 0.8, now=NOW + 61) > 0
        # A call that outlived its hold is still settled, and its cost counts.
        assert await store.ledger.settle(reservation, cost_usd=0.1)
        settled = await store.ledger.spent([DAILY], now=NOW + 62)
    assert (during, after, settled) == ({"daily": 0.8}, {"daily": 0.0}, {"daily": pytest.approx(0.9)})


async def test_spending_is_summed_by_ai_and_model_with_calls_errors_tokens_and_what_is_in_flight(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        ledger = store.ledger
        await ledger.record(
            ai="gemini", model="pro", tool="ask_ai", thread_id="t", cost_usd=0.25, input_tokens=1000,
            output_tokens=200, cached_tokens=300, reasoning_tokens=50, latency_s=2.0,
        )  # fmt: skip
        await ledger.settle(await reserve(store, 0.1), cost_usd=None, input_tokens=10, output_tokens=5)
        await ledger.release(await reserve(store, 0.1), "timeout")
        await reserve(store, 0.2)  # in flight
        await ledger.record(ai="grok", model="mini", tool=None, thread_id=None, cost_usd=0.5, now=NOW - 8 * 86_400)
        await ledger.record(
            ai="grok", model="mini", tool=None, thread_id=None, cost_usd=0.125, outcome="empty_response"
        )
        today = await ledger.spend(since=window_start(NOW, "day"))
        earlier = await ledger.spend(since=0, until=NOW - 7 * 86_400)
    assert today == [
        SpendRow("gemini", "m", 2, 1, 0.0, 1, 10, 5, 0, 0, reserved_usd=0.2, unknown_cost_usd=0.1),
        SpendRow("gemini", "pro", 1, 0, 0.25, 0, 1000, 200, 300, 50, reserved_usd=0.0),
        SpendRow("grok", "mini", 1, 1, 0.125, 0, 0, 0, 0, 0, reserved_usd=0.0),
    ]
    assert [(row.ai, row.calls, row.cost_usd) for row in earlier] == [("grok", 1, 0.5)]


async def test_a_cost_that_is_not_a_number_of_dollars_is_refused(url: str) -> None:
    async with Store(url) as store:
        with pytest.raises(ValueError, match="estimate_usd must be a non-negative number of US dollars"):
            await reserve(store, -0.01)
        with pytest.raises(ValueError, match=r"cost_usd must be .* not nan"):
            await store.ledger.settle(await reserve(store, 0.01), cost_usd=math.nan)


# -- concurrency: the caps hold ------------------------------------------------------------------------


async def test_a_hundred_concurrent_calls_under_a_cap_that_affords_37_admit_exactly_37(url: str) -> None:
    cap = Cap("daily", 0.37, "day")
    outcomes: list[str] = []

    async def call(store: Store) -> None:
        try:
            await reserve(store, 0.01, cap)
            outcomes.append("answered")
        except BudgetExceeded:
            outcomes.append("budget_exceeded")

    with anyio.fail_after(DEADLINE_S):
        async with Store(url, clock=lambda: NOW) as store:
            async with anyio.create_task_group() as group:
                for _ in range(100):
                    group.start_soon(call, store)
            total = (await store.ledger.spent([cap]))["daily"]
    assert (outcomes.count("answered"), outcomes.count("budget_exceeded")) == (37, 63)
    assert total <= 0.37 + 1e-9


async def test_two_server_processes_sharing_one_cap_admit_only_what_it_affords_together(url: str) -> None:
    # Each process opens its own store on the database and fires 50 calls at once, both told to go together.
    command = [sys.executable, "-m", "tests.core.ledger_process", url, "50", "0.01", "0.37"]
    with anyio.fail_after(DEADLINE_S):
        results = await run_together(command, url)
        async with Store(url) as store:
            total = (await store.ledger.spent([Cap("daily", 0.37, "day")]))["daily"]
    assert sum(result["admitted"] for result in results) == 37
    assert sum(result["refused"] for result in results) == 63
    assert total <= 0.37 + 1e-9


# -- the pure policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "window", "start", "reset"),
    [
        (at(2026, 11, 30, 15, 0), "day", at(2026, 11, 30, 0, 0), at(2026, 12, 1, 0, 0)),
        (at(2026, 11, 30, 15, 0), "month", at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0)),
        (at(2026, 12, 31, 23, 59), "day", at(2026, 12, 31, 0, 0), at(2027, 1, 1, 0, 0)),
        (at(2026, 12, 31, 23, 59), "month", at(2026, 12, 1, 0, 0), at(2027, 1, 1, 0, 0)),
        (at(2027, 1, 1, 0, 0), "month", at(2027, 1, 1, 0, 0), at(2027, 2, 1, 0, 0)),  # the first instant
        (at(2028, 2, 29, 12, 0), "day", at(2028, 2, 29, 0, 0), at(2028, 3, 1, 0, 0)),  # a leap day
        (at(2027, 2, 28, 12, 0), "month", at(2027, 2, 1, 0, 0), at(2027, 3, 1, 0, 0)),
        (at(2026, 1, 31, 23, 59) + 59.999, "day", at(2026, 1, 31, 0, 0), at(2026, 2, 1, 0, 0)),
    ],
)
def test_windows_are_utc_days_and_months(now: float, window: Window, start: float, reset: float) -> None:
    assert (window_start(now, window), resets_at(now, window)) == (start, reset)


@pytest.mark.parametrize(
    ("spent", "estimate", "named"),
    [
        ([(DAILY, 0.0)], 1.0, None),  # exactly the cap fits
        ([(DAILY, 0.36)], 0.01 * 64, None),
        ([(DAILY, 0.999)], 0.01, "daily"),
        ([(DAILY, 0.5), (Cap("monthly", 10.0, "month"), 9.9)], 0.2, "monthly"),
        ([(Cap("monthly", 10.0, "month"), 9.9), (DAILY, 0.9)], 0.2, "monthly"),
        ([(DAILY, 0.9), (Cap("daily:grok", 0.1, "day", "grok"), 0.0)], 0.2, "daily"),  # equals: the first
        ([], 100.0, None),
    ],
)
def test_a_call_is_refused_by_the_cap_it_does_not_fit_that_resets_last(
    spent: list[tuple[Cap, float]], estimate: float, named: str | None
) -> None:
    error = over_cap(spent, estimate, NOW)
    assert (error.cap if error else None) == named


@pytest.mark.parametrize(("estimate", "limit", "refused"), [(0.1, None, False), (0.1, 0.1, False), (0.11, 0.1, True)])
def test_a_calls_worst_case_is_held_to_the_per_call_cap(estimate: float, limit: float | None, refused: bool) -> None:
    if refused:
        with pytest.raises(
            BudgetExceeded, match=r"^per-call cap of \$0\.10 exceeded: this call may cost up to \$0\.11"
        ):
            check_call_cost(estimate, limit)
    else:
        check_call_cost(estimate, limit)


def test_amounts_below_a_cent_are_shown_to_their_first_digits() -> None:
    error = BudgetExceeded("daily:grok", 0.005, 0.0049, 0.00025, at(2026, 12, 1, 0, 0))
    assert str(error) == (
        "grok's daily cap of $0.005 reached: $0.0049 spent on grok today, this call may cost up to $0.00025; "
        "resets 2026-12-01 00:00 UTC"
    )
