"""The rate counts in the store (core/store/rates.py), on SQLite and PostgreSQL: one statement counts a
request as core/resilience/rate_limits.py says, callers apart, exactly under concurrent requests, one
limit for two stores and for two server processes on one database, and idle callers' rows purged."""

from __future__ import annotations

import random
import sys

import anyio
import pytest
from sqlalchemy import func, select

from core.resilience.rate_limits import RateCount, counted
from core.store.database import Store
from core.store.schema import rate_windows
from tests.core.together import run_together

pytestmark = pytest.mark.anyio
DEADLINE_S = 60
NOW = 1_796_000_040.0  # on the minute (2026-11-30 00:54 UTC)


async def test_each_request_is_counted_as_the_policy_says_through_new_and_idle_minutes(url: str) -> None:
    chance = random.Random(5)
    moments = sorted(NOW + chance.uniform(0, 300) for _ in range(120))
    moments += [NOW + 100.0]  # a server whose clock is behind the others'
    async with Store(url) as store:
        expected: RateCount | None = None
        for now in moments:
            expected = counted(expected, now)
            assert await store.rates.hit("alice", now=now) == expected, now


async def test_callers_are_counted_apart(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        for _ in range(3):
            await store.rates.hit("alice")
        bob = await store.rates.hit("bob")
        alice = await store.rates.hit("alice")
    assert (alice.hits, bob.hits) == (4, 1)


async def test_a_caller_over_the_limit_is_refused_with_the_wait_and_let_in_after_it(url: str) -> None:
    now = NOW + 10
    async with Store(url, clock=lambda: now) as store:
        admitted = [(await store.rates.admit("alice", 3)).allowed for _ in range(4)]
        refused = await store.rates.admit("alice", 3)
        assert (await store.rates.admit("bob", 3)).allowed
        now += refused.retry_after_s
        again = await store.rates.admit("alice", 3)
    assert admitted == [True, True, True, False]
    assert (refused.allowed, refused.limit, refused.retry_after_header) == (False, 3, "86")
    assert again.allowed


async def test_concurrent_requests_are_each_counted_once(url: str) -> None:
    async with Store(url, clock=lambda: NOW) as store:
        counts: list[int] = []

        async def hit() -> None:
            counts.append((await store.rates.hit("alice")).hits)

        with anyio.fail_after(DEADLINE_S):
            async with anyio.create_task_group() as group:
                for _ in range(100):
                    group.start_soon(hit)
    assert sorted(counts) == list(range(1, 101))


async def test_two_servers_on_one_store_share_each_callers_limit(url: str) -> None:
    """Two stores (each its own connections, as two replicas have) admit 60 requests between them, not 60
    each, when 50 arrive at each at once."""
    verdicts: list[bool] = []

    async def admit(store: Store) -> None:
        verdicts.append((await store.rates.admit("alice", 60, now=NOW)).allowed)

    async with Store(url) as one, Store(url) as two:
        with anyio.fail_after(DEADLINE_S):
            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(admit, one)
                    group.start_soon(admit, two)
    assert (verdicts.count(True), verdicts.count(False)) == (60, 40)


async def test_two_server_processes_share_each_callers_limit(url: str) -> None:
    # Each process opens its own store on the database and sends 50 requests at once, both told to go together.
    command = [sys.executable, "-m", "tests.core.rates_process", url, "50", "60", str(NOW)]
    with anyio.fail_after(DEADLINE_S):
        results = await run_together(command, url)
    assert sum(result["admitted"] for result in results) == 60
    assert sum(result["refused"] for result in results) == 40


async def test_purge_deletes_only_callers_idle_for_two_minutes(url: str) -> None:
    async with Store(url) as store:
        await store.rates.hit("gone", now=NOW)  # its window ends at +60: it counts nothing from +120
        await store.rates.hit("previous", now=NOW + 60)  # still the previous window at +120
        await store.rates.hit("current", now=NOW + 120)
        purged = await store.rates.purge(now=NOW + 120)
        async with store.read() as conn:
            left = set((await conn.scalars(select(rate_windows.c.caller))).all())
        assert await store.rates.purge(now=NOW + 120) == 0
        async with store.read() as conn:
            assert await conn.scalar(select(func.count()).select_from(rate_windows)) == 2
    assert (purged, left) == (1, {"previous", "current"})
