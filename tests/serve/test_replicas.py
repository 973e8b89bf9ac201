"""Team mode as deployed: two `serve --http` replicas on two loopback ports, sharing one real PostgreSQL
store and one bearer token, behind a real nginx balancing round-robin (tests/nginx.py, the settings of
deploy/nginx.conf). Driven by the SDK's Streamable HTTP client, through nginx and at each replica directly
(so that which replica answers is known): a thread continues across replicas, a daily cap holds across
both, and a replica killed with a call in flight loses no recorded turn."""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from core.config.credentials import PROJECT_ROOT
from core.config.http import token_hash
from core.store.database import Store
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, require, write_credentials
from tests.nginx import NO_NGINX, NginxServer, binary, config_text, running_nginx
from tests.postgres import PostgresServer, free_port
from tests.serve.test_http import CANARY, HttpServer, server_env
from tests.tools.test_threads import turns_of

pytestmark = pytest.mark.anyio

DEADLINE_S = 30
CENT_PER_THOUSAND = {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}  # ollama: $0.01 per 1,000 tokens out


@dataclass
class Deployment:
    """Two replicas and nginx in front of them; the store's URL, to look at it afterwards."""

    replicas: tuple[HttpServer, HttpServer]
    nginx: NginxServer
    database_url: str

    def upstream(self, replica: HttpServer) -> str:
        return f"127.0.0.1:{replica.port}"


@contextlib.contextmanager
def deployed(fake: FakeProvider, root: Path, postgres: PostgresServer) -> Iterator[Deployment]:
    """Two replicas on a new database, and nginx in front; everything stopped afterwards."""
    nginx = require("nginx", binary(), NO_NGINX)
    port = free_port()
    database_url = postgres.url(postgres.create_database())
    body = credentials_for(fake, ("grok", "ollama"), ollama={"prices": CENT_PER_THOUSAND}) | FAST_RETRIES
    body |= {
        "database_url": database_url,
        "budgets": {"per_ai": {"ollama": {"daily_usd": 0.05}}},  # five calls of $0.01, whichever replica
        "http": {"allowed_hosts": [f"127.0.0.1:{port}"]},  # the Host clients use: nginx's (it passes it on)
    }
    env = server_env(
        root, write_credentials(root / "credentials.json", body), JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)}"
    )
    replicas = (HttpServer(env), HttpServer(env))  # both start at once
    try:
        for replica in replicas:
            replica.wait_ready()
        with running_nginx(nginx, port, [replica.port for replica in replicas]) as proxy:
            yield Deployment(replicas, proxy, database_url)
    finally:
        for replica in replicas:
            log = replica.stop()
            assert CANARY not in log, log
            assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def deployment(
    _provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer
) -> Iterator[Deployment]:
    """One deployment for the tests that leave both replicas running (starting one takes seconds)."""
    with deployed(_provider, tmp_path_factory.mktemp("replicas"), postgres) as running:
        yield running


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    """The SDK's Streamable HTTP client at `url`, with alice's token; its tool list read once, up front."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {CANARY}"}, timeout=DEADLINE_S) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            await client.list_tools()  # the client reads it to check structured results; once, not per call
            yield client


async def ask(url: str, prompt: str, thread: str | None = None, ai: str = "grok") -> CallToolResult:
    arguments = {"ai": ai, "prompt": prompt, **({"continuation_id": thread} if thread else {})}
    async with connected(url) as client:
        return await client.call_tool("ask_ai", arguments)


def thread_of(result: CallToolResult) -> str:
    assert not result.is_error, result.content
    thread = (result.structured_content or {}).get("continuation_id")
    assert isinstance(thread, str), result.structured_content
    return thread


async def recorded_turns(database_url: str, thread: str) -> list[tuple[str, str]]:
    async with Store(database_url) as store:
        return [(turn.role, turn.text) for turn in await store.threads.turns(thread)]


async def test_a_thread_started_through_one_replica_continues_through_the_other_and_through_nginx(
    fake: FakeProvider, deployment: Deployment
) -> None:
    one, other = deployment.replicas
    proxy = deployment.nginx.url
    with anyio.fail_after(DEADLINE_S):
        thread = thread_of(await ask(one.url, "first"))
        assert thread_of(await ask(other.url, "second", thread)) == thread
        for prompt in ("third", "fourth", "fifth"):
            assert thread_of(await ask(proxy, prompt, thread)) == thread
    asked = fake.requests_for("grok")
    assert turns_of(asked[1]) == [
        ("user", "first"),
        ("assistant", "[grok:grok-3-mini] first"),
        ("user", "second"),
    ], "the other replica read the thread from the shared store"
    assert [text for role, text in turns_of(asked[-1]) if role == "user"] == [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
    ]
    prompts = ["first", "second", "third", "fourth", "fifth"]
    assert await recorded_turns(deployment.database_url, thread) == [
        turn for prompt in prompts for turn in (("user", prompt), ("assistant", f"[grok:grok-3-mini] {prompt}"))
    ]
    used = deployment.nginx.upstreams_used()
    assert {deployment.upstream(one), deployment.upstream(other)} <= set(used), f"round-robin: {used}"


async def test_a_daily_cap_holds_across_both_replicas(fake: FakeProvider, deployment: Deployment) -> None:
    fake.behave("ollama", latency=0.5, usage=(1, 1_000, 0, 0))  # $0.01 a call; all fifteen in flight at once
    one, other = deployment.replicas
    kinds: list[str | None] = []

    async def asking(url: str, count: int) -> None:
        async with connected(url) as client:

            async def one_call() -> None:
                result = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_tokens": 1_000})
                kinds.append((result.structured_content or {}).get("error_kind"))

            async with anyio.create_task_group() as calls:
                for _ in range(count):
                    calls.start_soon(one_call)

    with anyio.fail_after(DEADLINE_S):
        async with anyio.create_task_group() as group:
            for url in (one.url, other.url, deployment.nginx.url):
                group.start_soon(asking, url, 5)
    async with Store(deployment.database_url) as store:
        [row] = [row for row in await store.ledger.spend(since=0) if row.ai == "ollama"]
    assert (kinds.count(None), kinds.count("budget_exceeded")) == (5, 10), kinds
    assert row.calls == 5 and row.cost_usd <= 0.05 + 1e-9
    assert len(fake.requests_for("ollama")) == 5, "the refused calls were never sent"


async def test_a_replica_killed_with_a_call_in_flight_loses_no_recorded_turn(
    fake: FakeProvider, tmp_path: Path, postgres: PostgresServer
) -> None:
    with deployed(fake, tmp_path, postgres) as deployment:  # of its own: it kills a replica
        await _kill_one_with_a_call_in_flight(fake, deployment)


async def _kill_one_with_a_call_in_flight(fake: FakeProvider, deployment: Deployment) -> None:
    doomed, survivor = deployment.replicas
    proxy = deployment.nginx.url
    cut: list[BaseException] = []

    async def in_flight(thread: str) -> None:
        try:
            await ask(doomed.url, "never answered", thread)
        except Exception as error:  # its server died under it: whatever the client raises
            cut.append(error)

    with anyio.fail_after(DEADLINE_S):
        thread = thread_of(await ask(doomed.url, "first"))
        thread_of(await ask(survivor.url, "second", thread))
        fake.behave("grok", latency=60)
        async with anyio.create_task_group() as group:
            group.start_soon(in_flight, thread)
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, float(DEADLINE_S))
            doomed.process.send_signal(signal.SIGKILL)  # no cleanup of any kind
        fake.behave("grok")
        before = await recorded_turns(deployment.database_url, thread)
        for prompt in ("third", "fourth"):  # through nginx, which finds the killed replica gone
            assert thread_of(await ask(proxy, prompt, thread)) == thread
        async with httpx2.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{proxy}/healthz")).json()["store"] == "ok"
    assert cut, "the call in flight on the killed replica did not answer"
    assert before == [
        ("user", "first"),
        ("assistant", "[grok:grok-3-mini] first"),
        ("user", "second"),
        ("assistant", "[grok:grok-3-mini] second"),
    ]
    after = await recorded_turns(deployment.database_url, thread)
    assert after[len(before) :] == [
        ("user", "third"),
        ("assistant", "[grok:grok-3-mini] third"),
        ("user", "fourth"),
        ("assistant", "[grok:grok-3-mini] fourth"),
    ]
    assert after[: len(before)] == before


def test_the_documented_nginx_configurations_have_the_tested_proxy_settings() -> None:
    def directives(text: str) -> set[str]:
        return {line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()}

    tested = {
        line
        for line in directives(config_text(Path("/tmp"), 8080, [8765, 8766]))
        if line.startswith(("proxy_", "client_max_body_size", "keepalive")) and "_temp_path" not in line
    }
    page = (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    [block] = re.findall(r"```nginx\n(.*?)```", page.split("## Team deployment", 1)[1], flags=re.S)
    assert len(tested) >= 12
    assert tested <= directives((PROJECT_ROOT / "deploy" / "nginx.conf").read_text())
    assert tested <= directives(block)
