"""The ledger day by day (core/store/spend_days.py), on SQLite and PostgreSQL: rows fall on their UTC day,
counts mean what the ledger's spend means, one caller's view holds only their calls, and a caller's view of
the per-AI spend and by-caller lines (core/store/ledger.py) holds only theirs."""

from __future__ import annotations

from calendar import timegm

import pytest

from core.money.caps import Cap
from core.store.database import Store
from core.store.spend_days import DAY_S, CallerDay, SpendDay, callers_by_day, spend_by_day

pytestmark = pytest.mark.anyio
NOW = float(timegm((2026, 11, 30, 15, 0, 0)))
MIDNIGHT = float(timegm((2026, 11, 30, 0, 0, 0)))


async def filled(store: Store) -> None:
    """Calls on 29 and 30 November, by alice, bob and over stdio, one second each side of midnight."""
    record = store.ledger.record
    await record(ai="grok", model="m1", tool="ask_ai", thread_id=None, caller="alice", cost_usd=0.25, now=MIDNIGHT - 1)
    await record(ai="grok", model="m1", tool="ask_ai", thread_id=None, caller="alice", cost_usd=0.5, now=MIDNIGHT)
    await record(
        ai="grok",
        model="m1",
        tool="ask_ai",
        thread_id=None,
        caller="bob",
        cost_usd=None,
        estimate_usd=0.125,
        now=MIDNIGHT + 60,
    )
    await record(ai="grok", model=None, tool=None, thread_id=None, caller=None, cost_usd=1.0, now=MIDNIGHT + 120)
    await record(
        ai="gemini",
        model="g",
        tool="ask_ai",
        thread_id=None,
        caller="bob",
        cost_usd=None,
        outcome="server_error",
        now=NOW,
    )
    await record(
        ai="gemini", model="g", tool="ask_ai", thread_id=None, caller="alice", cost_usd=0.0625, now=NOW - 60 * DAY_S
    )
    await store.ledger.reserve(
        caps=[Cap("daily", 10.0, "day")], ai="grok", model="m1", tool=None, thread_id=None, estimate_usd=3.0, now=NOW
    )  # in flight: no day's spend yet


async def test_each_call_falls_on_its_utc_day_by_ai_and_model(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        await filled(store)
        days = await spend_by_day(store, since=MIDNIGHT - 29 * DAY_S)
    assert days == [
        SpendDay("2026-11-29", "grok", "m1", 1, 0, 0.25, 0, 0.0),
        SpendDay("2026-11-30", "gemini", "g", 1, 1, 0.0, 1, 0.0),
        SpendDay("2026-11-30", "grok", None, 1, 0, 1.0, 0, 0.0),
        SpendDay("2026-11-30", "grok", "m1", 2, 0, 0.5, 1, 0.125),
    ]


async def test_each_callers_calls_fall_on_their_utc_day_stdio_first(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        await filled(store)
        days = await callers_by_day(store, since=MIDNIGHT - 29 * DAY_S)
        older = await callers_by_day(store, since=0, until=MIDNIGHT - DAY_S)
    assert days == [
        CallerDay("2026-11-29", "alice", 1, 0.25),
        CallerDay("2026-11-30", None, 1, 1.0),
        CallerDay("2026-11-30", "alice", 1, 0.5),
        CallerDay("2026-11-30", "bob", 2, 0.0),
    ]
    assert older == [CallerDay("2026-10-01", "alice", 1, 0.0625)]


async def test_one_callers_view_holds_their_calls_alone(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        await filled(store)
        days = await spend_by_day(store, since=MIDNIGHT - 29 * DAY_S, caller="bob")
        callers = await callers_by_day(store, since=MIDNIGHT - 29 * DAY_S, caller="bob")
        spend = await store.ledger.spend(since=MIDNIGHT, caller="bob")
        by_caller = await store.ledger.spend_by_caller(since=MIDNIGHT, caller="bob")
        everyone = await store.ledger.spend(since=MIDNIGHT)
    assert days == [
        SpendDay("2026-11-30", "gemini", "g", 1, 1, 0.0, 1, 0.0),
        SpendDay("2026-11-30", "grok", "m1", 1, 0, 0.0, 1, 0.125),
    ]
    assert callers == [CallerDay("2026-11-30", "bob", 2, 0.0)]
    assert [(row.ai, row.model, row.calls, row.reserved_usd) for row in spend] == [
        ("gemini", "g", 1, 0.0),
        ("grok", "m1", 1, 0.0),
    ]
    assert [(row.caller, row.calls) for row in by_caller] == [("bob", 2)]
    assert sum(row.calls for row in everyone) == 4
