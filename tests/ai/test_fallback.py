"""The sync fallback: used only when the async client cannot send, and as abortable as the async path.

A call cancelled by the client, or ended by its deadline, leaves nothing open upstream after 1 s,
whichever path it took; on the sync path a worker thread cannot be cancelled, so its connection is cut.
"""

from __future__ import annotations

import anyio
import pytest

from ai.caller import call_ai_async
from ai.request import Request
from callers import Junior, ask
from core import ai_clients
from core.errors import DeadlineReached
from tests.fakes import FakeProvider

pytestmark = pytest.mark.anyio
MODELS = {"grok": "grok-3-mini", "gemini": "gemini-2.5-flash"}


def take_the_sync_path(app: Junior, ai: str) -> None:
    app.pool.clients[ai] = app.pool.threaded(ai)  # type: ignore[assignment]  # the sync client, in a worker thread


async def upstream_hung_up(fake: FakeProvider, count: int = 1, within: float = 1.0) -> bool:
    return bool(await anyio.to_thread.run_sync(fake.wait_for_disconnects, count, within))


@pytest.mark.parametrize("ai", list(MODELS))
@pytest.mark.parametrize("path", ["async", "sync-fallback"])
async def test_a_cancelled_call_leaves_nothing_open_upstream_after_1_s(
    fake: FakeProvider, registry: Junior, ai: str, path: str
) -> None:
    if path == "sync-fallback":
        take_the_sync_path(registry, ai)
    fake.behave(ai, latency=30)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(call_ai_async, ai, "slow")
            assert await anyio.to_thread.run_sync(fake.wait_for_requests, 1, 5)
            group.cancel_scope.cancel()
    assert await upstream_hung_up(fake), "the provider still has the request open"
    fake.reset()
    with anyio.fail_after(10):
        assert await call_ai_async(ai, "next") == f"[{ai}:{MODELS[ai]}] next", "the client is built anew"


@pytest.mark.parametrize("ai", list(MODELS))
async def test_a_fallback_call_ended_by_its_deadline_hangs_up_too(
    fake: FakeProvider, registry: Junior, ai: str
) -> None:
    take_the_sync_path(registry, ai)
    fake.behave(ai, latency=30)
    with anyio.fail_after(10), pytest.raises(DeadlineReached):
        await ask(registry, ai, Request("slow", deadline=0.5))
    assert await upstream_hung_up(fake)
    assert len(fake.requests_for(ai)) == 1


@pytest.mark.parametrize("ai", list(MODELS))
async def test_cutting_one_fallback_call_leaves_the_sync_client_usable_from_any_thread(
    fake: FakeProvider, registry: Junior, ai: str
) -> None:
    client = ai_clients.AI_CLIENTS[ai]
    client.abort()  # before any use: nothing to cut
    assert await anyio.to_thread.run_sync(client.generate, "first") == f"[{ai}:{MODELS[ai]}] first"
    client.abort()  # an idle connection: cut, and the SDK client is dropped
    assert await anyio.to_thread.run_sync(client.generate, "again") == f"[{ai}:{MODELS[ai]}] again"
    client.close()
