"""Jobs in team mode: two `serve --http` replicas sharing one real PostgreSQL store, two callers with
tokens of their own, driven by the SDK's Streamable HTTP client. A call that hands off through one replica
is fetched through the other; another caller can neither read nor cancel it; a replica killed with a job
running leaves it `lost`, never running forever."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from core.config import defaults
from core.config.http import token_hash
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials
from tests.postgres import PostgresServer
from tests.serve.test_http import CANARY, HttpServer, server_env

pytestmark = pytest.mark.anyio

DEADLINE_S = 60
BOB = "b" * 43  # bob's token
HANDOFF_S = "1"


@contextlib.contextmanager
def replicas(fake: FakeProvider, root: Path, postgres: PostgresServer) -> Iterator[tuple[HttpServer, HttpServer]]:
    """Two replicas on a new database, handing off after HANDOFF_S; alice and bob may call them."""
    patient = {"timeout": DEADLINE_S}  # the slow AI is slow, not failed
    body = credentials_for(fake, ("grok", "gemini"), grok=patient, gemini=patient) | FAST_RETRIES
    body["database_url"] = postgres.url(postgres.create_database())
    tokens = f"alice:{token_hash(CANARY)},bob:{token_hash(BOB)}"
    env = server_env(
        root, write_credentials(root / "credentials.json", body), JUNIOR_AI_TOKENS=tokens, JUNIOR_AI_HANDOFF_S=HANDOFF_S
    )
    servers = (HttpServer(env), HttpServer(env))
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            log = server.stop()
            assert CANARY not in log and BOB not in log, log
            assert "Traceback" not in log, log


@contextlib.asynccontextmanager
async def connected(server: HttpServer, token: str = CANARY) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=DEADLINE_S) as http:
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
            yield client


async def call(server: HttpServer, tool: str, arguments: dict[str, Any], token: str = CANARY) -> CallToolResult:
    """One call from a client of its own, which asks for progress (a job goes on sending it after the
    hand-off, to a request that has ended: the server must take that quietly)."""

    async def progress(done: float, total: float | None, message: str | None) -> None:
        pass

    async with connected(server, token) as client:
        return await client.call_tool(tool, arguments, progress_callback=progress)


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    return result.structured_content or {}


async def test_a_job_started_through_one_replica_is_fetched_through_the_other_and_is_its_callers_alone(
    fake: FakeProvider, tmp_path: Path, postgres: PostgresServer
) -> None:
    with replicas(fake, tmp_path, postgres) as (one, other):
        with anyio.fail_after(DEADLINE_S):
            # Warm: the store open, both SDKs loaded (slow on a busy machine: it may hand off itself).
            warm = structured(await call(one, "ask_all_ais", {"prompt": "warm up", "ais": ["gemini", "grok"]}))
            if "job_id" in warm:
                await call(one, "jobs", {"job_id": warm["job_id"], "wait_s": 30})
            fake.behave("gemini", text="Fast.")
            fake.behave("grok", text="Slow.", latency=4)
            handed = structured(await call(one, "ask_all_ais", {"prompt": "Which?", "ais": ["gemini", "grok"]}))
            job_id = handed["job_id"]
            read_by_bob = await call(other, "jobs", {"job_id": job_id, "wait_s": 0}, BOB)
            cancelled_by_bob = await call(other, "jobs", {"job_id": job_id, "action": "cancel"}, BOB)
            listed_for_bob = structured(await call(other, "jobs", {}, BOB))
            done = structured(await call(other, "jobs", {"job_id": job_id, "wait_s": 30}))
    assert handed["status"] == "running" and [r["ai"] for r in handed["received"]] == ["gemini"]
    for refused in (read_by_bob, cancelled_by_bob):
        assert refused.is_error and f"no job {job_id!r} of yours" in text_of(refused)
    assert listed_for_bob["jobs"] == []
    assert done["status"] == "done", done
    assert [r["text"] for r in done["results"]] == ["Fast.", "Slow."], "bob's cancel did not reach it"


async def test_a_replica_killed_with_a_job_running_leaves_it_lost(
    fake: FakeProvider, tmp_path: Path, postgres: PostgresServer
) -> None:
    with replicas(fake, tmp_path, postgres) as (doomed, survivor):
        fake.behave("grok", latency=120)
        with anyio.fail_after(DEADLINE_S):
            handed = structured(await call(doomed, "ask_ai", {"ai": "grok", "prompt": "hi", "background": True}))
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, float(DEADLINE_S))
            running = structured(await call(survivor, "jobs", {"job_id": handed["job_id"], "wait_s": 0}))
            doomed.process.send_signal(signal.SIGKILL)  # no cleanup of any kind
            await anyio.to_thread.run_sync(doomed.process.wait)
            wait_s = defaults.JOB_LOST_AFTER_S + 2 * defaults.JOB_HEARTBEAT_S
            lost = await call(survivor, "jobs", {"job_id": handed["job_id"], "wait_s": wait_s})
        fake.behave("grok")
    assert running["status"] == "running"
    assert lost.is_error and (lost.structured_content or {})["status"] == "lost"
    assert "stopped before it finished" in text_of(lost)
