"""`serve --http` as an operator runs it: SIGTERM drains the calls in flight (up to `http.drain_seconds`,
then cuts them) and the process exits 0; every request leaves one access line on stderr, without the
token, the body or the query string."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from core.config.http import token_hash
from core.config.settings import settings_or_problems
from core.store.database import Store
from core.store.schema import ledger
from core.store.url import store_url
from serve.http.access_log import access_line
from tests.fakes import FakeProvider
from tests.helpers import answer_of, credentials_for, write_credentials
from tests.serve.test_http import CANARY, START_S, HttpServer, server_env

pytestmark = pytest.mark.anyio

MARGIN_S = 5.0  # what a drained process may take beyond its drain time to close the application and exit
AUTH = {"Authorization": f"Bearer {CANARY}"}


def started(tmp_path: Path, fake: FakeProvider, http: dict[str, Any], **env: str) -> HttpServer:
    body = {**credentials_for(fake, ("grok",), grok={"timeout": 30}), "http": http}
    return started_with(tmp_path, write_credentials(tmp_path / "credentials.json", body), **env)


def started_with(tmp_path: Path, credentials: Path, **env: str) -> HttpServer:
    server = HttpServer(server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)}", **env))
    deadline = time.monotonic() + START_S  # uvicorn's "running" line is INFO: poll, whatever the log level
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if httpx2.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return server
        except httpx2.ConnectError:
            time.sleep(0.05)
    raise AssertionError(f"the server did not start: {server.stop()}")


async def ask(url: str, prompt: str) -> str:
    async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            await client.list_tools()  # now, not after the call (to check its result): SIGTERM may come between
            result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": prompt})
    return answer_of(result.content[0].text)  # type: ignore[union-attr]


async def refused(url: str) -> bool:
    """Whether a new connection to the server is refused, polled until it is (or the caller's deadline).
    A connection made just before the listening socket closed is closed unanswered: that counts too."""
    while True:
        try:
            async with httpx2.AsyncClient(timeout=5) as http:
                await http.get(f"{url}/healthz")
        except (httpx2.ConnectError, httpx2.ReadError, httpx2.RemoteProtocolError):
            return True
        await anyio.sleep(0.05)


async def test_sigterm_lets_a_call_in_flight_answer_refuses_new_connections_and_exits_0(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("grok", latency=2.0)
    server = started(tmp_path, fake, {"drain_seconds": 20})
    answers: list[str] = []

    async def in_flight() -> None:
        answers.append(await ask(server.url, "finish me"))

    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(in_flight)
                assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, 20.0)
                server.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                assert await refused(server.url), "new connections are refused while the call drains"
                assert not answers, "the call was still in flight when new connections were refused"
            code = await anyio.to_thread.run_sync(server.process.wait, 20 + MARGIN_S)
    finally:
        log = server.stop()
    assert answers == ["[grok:grok-3-mini] finish me"]
    assert code == 0, log
    assert time.monotonic() - signalled < 20, "it exited once the call was done, not at the end of the drain"
    assert "SIGTERM received: refusing new connections; calls in flight have 20 s to finish" in log
    assert "Application shutdown complete." in log and "Traceback" not in log, log
    settings = settings_or_problems(tmp_path / "credentials.json", {"XDG_DATA_HOME": str(tmp_path / "xdg-data")})
    async with Store(store_url(settings)) as store:
        [row] = await store.ledger.spend(since=0)
    assert row.calls == 1, "the drained call's ledger row was written before the store closed"


PRICED = {"timeout": 30, "prices": {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}}


async def outcome_of(url: str, ai: str, prompt: str, mode: str, called: anyio.Event) -> str:
    """A call through the SDK's client in `mode`: its answer, or "error: <message>" for a JSON-RPC error."""
    async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client:
            await client.list_tools()  # now, not after SIGTERM (connecting in "auto" mode asks the server first)
            called.set()
            try:
                result = await client.call_tool("ask_ai", {"ai": ai, "prompt": prompt})
            except MCPError as error:
                return f"error: {error.message}"
    thread = (result.structured_content or {}).get("continuation_id")
    return f"{answer_of(result.content[0].text)} (thread {thread})"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # the 2025 streams (sse-starlette's) and the 2026 exchange
async def test_at_sigterm_a_call_in_flight_gets_its_whole_answer_and_one_past_the_drain_a_json_rpc_error(
    fake: FakeProvider, tmp_path: Path, mode: str
) -> None:
    fake.behave("grok", latency=2.0)
    fake.behave("deepseek", latency=30.0)
    body = {**credentials_for(fake, ("grok", "deepseek"), grok=PRICED, deepseek=PRICED), "budgets": {"daily_usd": 5}}
    credentials = write_credentials(tmp_path / "credentials.json", body | {"http": {"drain_seconds": 4}})
    server = started_with(tmp_path, credentials)
    outcomes: dict[str, str] = {}
    ended: dict[str, float] = {}

    async def call(ai: str, prompt: str, called: anyio.Event) -> None:
        outcomes[ai] = await outcome_of(server.url, ai, prompt, mode, called)
        ended[ai] = time.monotonic() - signalled

    try:
        with anyio.fail_after(40):
            async with anyio.create_task_group() as group:
                for ai in ("grok", "deepseek"):
                    called = anyio.Event()
                    group.start_soon(call, ai, f"{ai}, finish me", called)
                    await called.wait()
                for ai in ("grok", "deepseek"):
                    assert await anyio.to_thread.run_sync(fake.wait_for_active, ai, 1, 20.0)
                server.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
            code = await anyio.to_thread.run_sync(server.process.wait, 4 + MARGIN_S)
    finally:
        log = server.stop()
    answer, _, thread = outcomes["grok"].partition(" (thread ")
    assert answer == "[grok:grok-3-mini] grok, finish me", (outcomes, log)
    assert ended["grok"] < 4, "answered when it was done, not at the end of the drain"
    assert outcomes["deepseek"].startswith("error: server shutting down: the call did not finish in the 4 s"), outcomes
    assert 4 <= ended["deepseek"] < 4 + MARGIN_S
    assert code == 0, log
    assert "Traceback" not in log and "timeout graceful shutdown exceeded" not in log, log
    settings = settings_or_problems(credentials, {"XDG_DATA_HOME": str(tmp_path / "xdg-data")})
    async with Store(store_url(settings)) as store:
        turns = await store.threads.turns(thread.rstrip(")"), owner="alice")
        async with store.read() as conn:
            written = (await conn.execute(select(ledger.c.ai, ledger.c.state, ledger.c.outcome))).all()
    rows = {ai: (state, outcome) for ai, state, outcome in written}
    assert [(turn.role, turn.text) for turn in turns] == [
        ("user", "grok, finish me"),
        ("assistant", "[grok:grok-3-mini] grok, finish me"),
    ], "the answered call is in its thread"
    # deepseek was sent when the drain cut it: it is settled, its cost unknown, and keeps counting against the caps.
    assert rows == {"grok": ("settled", "ok"), "deepseek": ("settled", "cancelled")}, "both calls are in the ledger"


async def test_each_request_is_one_access_line_with_its_caller_and_without_token_or_query(
    fake: FakeProvider, tmp_path: Path
) -> None:
    server = started(tmp_path, fake, {}, JUNIOR_AI_LOG_LEVEL="WARNING")  # shown at the default level too
    secret = "query-secret-5e6f7a8b9c0d1e2f"
    try:
        with anyio.fail_after(60):
            assert await ask(server.url, "log me") == "[grok:grok-3-mini] log me"
            async with httpx2.AsyncClient(timeout=30) as http:
                assert (await http.get(f"{server.url}/healthz?token={secret}")).status_code == 200
                assert (await http.post(f"{server.url}/mcp", json={}, headers=AUTH | {"X": secret})).status_code
                assert (await http.post(f"{server.url}/mcp", content=secret)).status_code == 401
    finally:
        log = server.stop()
    lines = [line for line in log.splitlines() if line.startswith("junior-ai INFO: ")]
    assert any(line.startswith("junior-ai INFO: POST /mcp 200 ") and line.endswith(" ms alice") for line in lines), log
    assert any(line.startswith("junior-ai INFO: GET /healthz 200 ") and line.endswith(" ms -") for line in lines), log
    assert any(line.startswith("junior-ai INFO: POST /mcp 401 ") and line.endswith(" ms -") for line in lines), log
    assert CANARY not in log and secret not in log and "log me" not in log, log


@pytest.mark.parametrize(
    ("method", "path", "status", "seconds", "caller", "line"),
    [
        ("POST", "/mcp", 200, 1.5234, "alice", "POST /mcp 200 1523 ms alice"),
        ("GET", "/healthz", 200, 0.0004, None, "GET /healthz 200 0 ms -"),
        ("POST", "/mcp", None, 2.0, "bob", "POST /mcp - 2000 ms bob"),
        ("GET", "/a b\nINFO: forged", 404, 0.001, None, "GET /a?b?INFO:?forged 404 1 ms -"),
        ("GET", "/" + "x" * 300, 404, 0.0, None, "GET /" + "x" * 199 + "… 404 0 ms -"),
    ],
)
def test_the_access_line(
    method: str, path: str, status: int | None, seconds: float, caller: str | None, line: str
) -> None:
    assert access_line(method, path, status, seconds, caller) == line


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        ({"drain_seconds": -1}, "http.drain_seconds: Input should be greater than or equal to 0"),
        ({"drain_seconds": 3601}, "http.drain_seconds: Input should be less than or equal to 3600"),
        ({"access_log": "maybe"}, "http.access_log: Input should be a valid boolean"),
    ],
)
def test_a_bad_drain_time_or_access_log_switch_is_a_problem_saying_what_is_valid(
    tmp_path: Path, http: dict[str, Any], problem: str
) -> None:
    settings = settings_or_problems(write_credentials(tmp_path / "c.json", {"http": http}), env={})
    [said] = settings.problems
    assert problem in said
    assert (settings.http.drain_seconds, settings.http.access_log) == (20, True), "the defaults stand"
