"""The adaptive limit end to end: the real caller, through the real SDKs, against the fake provider.

A provider that takes 4 requests at once and answers 429 above that: the limit backs off to about 4
after the first burst, few calls end in 429, the breaker stays closed. A provider that takes anything:
20 calls at once all go in flight at once (the fake counts them), nothing waits in the limiter.
"""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from ai.caller import call_ai_async
from callers import Junior
from core.errors import JuniorAIError
from tests.fakes import FakeProvider

pytestmark = pytest.mark.anyio
TAKES = 4  # what the fake provider holds at once
BURST = 20


async def calls(name: str, count: int, kinds: Counter[str]) -> None:
    """`count` calls to `name` at once; how each ended is counted in `kinds`."""

    async def one() -> None:
        try:
            await call_ai_async(name, "hello")
        except JuniorAIError as error:
            kinds[getattr(error, "kind", type(error).__name__)] += 1
        else:
            kinds["ok"] += 1

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)


@pytest.mark.parametrize("name", ["grok", "gemini"])
async def test_against_a_provider_that_takes_4_at_once_the_limit_backs_off_to_about_4(
    fake: FakeProvider, registry: Junior, name: str
) -> None:
    fake.behave(name, latency=0.2, max_concurrent=TAKES)
    limiter = registry.guards[name].limiter
    first: Counter[str] = Counter()
    with anyio.fail_after(60):
        await calls(name, BURST, first)  # the first burst meets the provider's limit
    refused_by_the_burst = fake.refused[name]
    assert refused_by_the_burst >= BURST - TAKES, "the provider refused the burst above its limit"
    assert TAKES - 1 <= limiter.limit <= TAKES + 1, limiter.state

    after: Counter[str] = Counter()
    with anyio.fail_after(60):
        for _ in range(3):
            await calls(name, BURST, after)
    assert after["ok"] >= 3 * BURST * 0.95, after
    assert after["rate_limited"] <= 3 * BURST * 0.05, after
    assert fake.refused[name] - refused_by_the_burst <= 3, "once settled, at most a rare probe is refused"
    assert fake.peak[name] == TAKES
    assert TAKES - 1 <= limiter.limit <= TAKES + 1, limiter.state
    assert registry.guards[name].breaker.trips == 0, "429s while the limit can come down do not open it"


async def test_20_calls_at_once_to_one_ai_all_go_in_flight_at_once(fake: FakeProvider, registry: Junior) -> None:
    fake.behave("grok", latency=30)  # they stay in flight until we cancel them
    limiter = registry.guards["grok"].limiter
    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            for _ in range(BURST):
                group.start_soon(call_ai_async, "grok", "hello")
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", BURST, 15)
            assert (limiter.in_flight, limiter.waiting) == (BURST, 0)
            group.cancel_scope.cancel()
    assert fake.peak["grok"] == BURST
    assert (limiter.in_flight, limiter.waiting) == (0, 0), "cancelled calls leave no slot taken"
