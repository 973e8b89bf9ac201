"""Tasks (SEP-2663) in team mode: two `serve --http` replicas sharing one real PostgreSQL store, two callers
with tokens of their own, each a 2026-07-28 client of the SDK's over Streamable HTTP that declares the Tasks
extension. A task started through one replica is polled to its result through the other; another caller can
neither read nor cancel it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, Result

from tests.fakes import FakeProvider
from tests.postgres import PostgresServer
from tests.serve.test_http import CANARY, HttpServer
from tests.serve.test_jobs_http import BOB, DEADLINE_S, replicas
from tests.tools.test_tasks import MODERN, CancelTask, GetTask, TaskCreated, TaskId, TasksClient, TaskState, poll

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def tasks_client(server: HttpServer, token: str = CANARY) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=DEADLINE_S) as http:
        transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
        async with Client(transport, mode=MODERN, extensions=[TasksClient()]) as client:
            yield client


async def test_a_task_started_through_one_replica_is_polled_through_the_other_and_is_its_callers_alone(
    fake: FakeProvider, tmp_path: Path, postgres: PostgresServer
) -> None:
    with replicas(fake, tmp_path, postgres) as (one, other):
        fake.behave("grok", text="Slow.", latency=4)
        with anyio.fail_after(DEADLINE_S):
            async with tasks_client(one) as alice:
                created = await alice.session.call_tool(
                    "ask_ai", {"ai": "grok", "prompt": "hi", "background": True}, allow_claimed=True
                )
            assert isinstance(created, TaskCreated), created
            task = TaskId(task_id=created.task_id)
            async with tasks_client(other, BOB) as bob:
                with pytest.raises(MCPError, match="of yours") as read_by_bob:
                    await bob.session.send_request(GetTask(params=task), TaskState)
                with pytest.raises(MCPError, match="of yours"):
                    await bob.session.send_request(CancelTask(params=task), Result)
            async with tasks_client(other) as alice:
                done = await poll(alice.session, created.task_id)
    assert read_by_bob.value.error.code == -32602
    assert done.status == "completed", done
    assert "Slow." in "".join(getattr(p, "text", "") for p in CallToolResult.model_validate(done.result).content)
