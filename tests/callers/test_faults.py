"""The fault-injection suite: each fault, for both SDKs, through the MCP server against the fake.

For each: the outcome (recovered, or the right typed error naming the AI and the reason), the attempts
the fake saw, that the server answers the next call, and that no task is left; a hang or a long
Retry-After must end well within the test's deadline. Retry delays are made short through
configuration (conftest.FAST_RETRIES), never patched out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from ai.request import Request
from callers import Junior, ask
from core.config.settings import Settings, load_settings
from core.errors import ProviderTimeout
from serve.main import build_server
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import FAST_RETRIES, Served, answer_of, closed_port, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
TIMEOUT = 0.3  # each attempt's limit, so that a hang costs 3 x 0.3 s
AIS = ("grok", "gemini")


@pytest.fixture
def fault_settings(fake: FakeProvider, tmp_path: Path) -> Settings:
    body = credentials_for(fake, ("grok", "gemini", "deepseek", "openrouter", "ollama")) | FAST_RETRIES
    for name in ("grok", "gemini"):
        body[name]["timeout"] = TIMEOUT
    body["refused"] = {"base_url": f"http://127.0.0.1:{closed_port()}/v1", "model": "m", "timeout": TIMEOUT}
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


@pytest.fixture
async def client(fault_settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(fault_settings)) as client:
        yield client


async def settled(baseline: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """The tasks started since `baseline` that are still running after waiting up to 2 s for them."""
    started = {t for t in asyncio.all_tasks() if not t.done()} - baseline
    if started:
        await asyncio.wait(started, timeout=2)
    return {t for t in started if not t.done()}


def empty_body(api: str) -> str:
    return '{"choices": []}' if api == "openai" else '{"candidates": []}'


# (id, one-shot behaviours, then the default behaviour, expected: "ok" or a substring of the error, attempts)
FAULTS: list[tuple[str, list[Behaviour], Behaviour | None, str, int]] = [
    ("429-retry-after-fits", [Behaviour(status=429, retry_after="0.05")], None, "ok", 2),
    ("429-retry-after-too-long", [], Behaviour(status=429, retry_after="90"), "provider asks to wait 90 s", 1),
    ("500", [], Behaviour(status=500), "(HTTP 500): fake provider error 500", 3),
    ("503-twice-then-ok", [Behaviour(status=503), Behaviour(status=503)], None, "ok", 3),
    ("reset-mid-response", [], Behaviour(reset=True), "connection failed (RemoteProtocolError)", 3),
    ("reset-once-then-ok", [Behaviour(reset=True)], None, "ok", 2),
    ("invalid-json", [], Behaviour(body="this is not json"), "unreadable answer", 3),
    ("empty", [], Behaviour(body="EMPTY"), "no choices|no candidates", 1),
    ("safety", [], Behaviour(blocked=True), "blocked|content filter", 1),
    ("hang", [], Behaviour(latency=30), f"no answer within {TIMEOUT:g} s", 3),
]


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize(
    ("queued", "default", "expected", "attempts"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS]
)
async def test_fault(
    fake: FakeProvider,
    client: Client,
    ai: str,
    queued: list[Behaviour],
    default: Behaviour | None,
    expected: str,
    attempts: int,
) -> None:
    api = "gemini" if ai == "gemini" else "openai"
    if default is not None:
        fake.behave(ai, default if default.body != "EMPTY" else Behaviour(body=empty_body(api)))
    fake.queue(ai, *queued)
    baseline = set(asyncio.all_tasks())
    with anyio.fail_after(10):  # a hang is 30 s and a Retry-After 90 s: only cut short do they fit
        result = await client.call_tool("ask_ai", {"ai": ai, "prompt": "hello"})
    text = result.content[0].text  # type: ignore[union-attr]
    if expected == "ok":
        assert not result.is_error and text.startswith(f"[{ai}:"), text
    else:
        failure = result.structured_content or {}
        assert result.is_error and text.startswith(f"{ai} ("), text
        assert any(part in text for part in expected.split("|")), text
        assert (failure["ai"], failure["ok"], failure["text"]) == (ai, False, None)
        status = re.search(r"\(HTTP (\d+)\)", text)
        assert failure["error_kind"] and failure["status_code"] == (int(status[1]) if status else None), failure
    assert len(fake.requests_for(ai)) == attempts
    assert not await settled(baseline), "a task was left running"

    fake.reset()
    after = await client.call_tool("ask_ai", {"ai": ai, "prompt": "still there?"})
    assert not after.is_error and after.content[0].text.startswith(f"[{ai}:")  # type: ignore[union-attr]


async def test_a_failed_ask_ai_carries_the_fields_of_a_multi_ai_result(fake: FakeProvider, client: Client) -> None:
    fake.behave("grok", status=403)  # not retried, so the breaker stays closed for the second call
    with anyio.fail_after(10):
        one = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hello"})
        many = await client.call_tool("ask_all_ais", {"prompt": "hello", "ais": ["grok"]})
    alone, [among] = one.structured_content or {}, (many.structured_content or {})["results"]
    assert one.is_error and many.is_error
    assert "continuation_id" in alone, "the thread this call started, which the result beside it has not"
    call_level = {"latency_s": 0, "continuation_id": None, "total_cost_usd": None}  # of the call, not the AI
    assert {**alone, **call_level} == {**among, **call_level}
    assert (alone["ok"], alone["error_kind"], alone["status_code"]) == (False, "auth", 403)
    assert one.content[0].text.startswith("grok (grok-3-mini) (HTTP 403): ")  # type: ignore[union-attr]


async def test_a_deadline_that_ends_the_retries_keeps_the_rate_limit_as_the_cause(
    fake: FakeProvider, settings: Settings
) -> None:
    fake.queue("grok", Behaviour(status=429), Behaviour(latency=30))  # the retry hangs past the deadline
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hello", "deadline_s": 1})
    failure = result.structured_content or {}
    assert result.is_error
    assert (failure["error_kind"], failure["status_code"]) == ("rate_limited", 429)
    assert failure["error"] == "fake provider error 429 (HTTP 429), retried once until the deadline"
    text = result.content[0].text  # type: ignore[union-attr]
    assert answer_of(text) == "grok (grok-3-mini) (HTTP 429): fake provider error 429, retried once until the deadline"


async def test_a_name_that_cannot_be_asked_stays_a_tool_error(client: Client) -> None:
    result = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "hello"})
    assert result.is_error and result.structured_content is None
    assert "unknown AI 'claude'" in result.content[0].text  # type: ignore[union-attr]


async def test_connection_refused_is_retried_then_named(client: Client) -> None:
    with anyio.fail_after(10):
        result = await client.call_tool("ask_ai", {"ai": "refused", "prompt": "hello"})
    assert result.is_error
    assert "refused (m): connection failed (ConnectError)" in result.content[0].text  # type: ignore[union-attr]
    status = await client.call_tool("server_status", {})
    metrics = {ai["name"]: ai["metrics"] for ai in (status.structured_content or {})["ais"]}
    assert (metrics["refused"]["retries"], metrics["refused"]["failures"]) == (2, {"unreachable": 1})


async def test_three_faulty_ais_and_two_healthy_ones_return_the_two_answers(fake: FakeProvider, client: Client) -> None:
    fake.behave("grok", status=500)
    fake.behave("deepseek", reset=True)
    fake.behave("openrouter", latency=30)
    with anyio.fail_after(10):
        result = await client.call_tool(
            "ask_all_ais",
            {"prompt": "hi", "ais": ["grok", "deepseek", "openrouter", "gemini", "ollama"], "deadline_s": 2},
        )
    results = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert [name for name, r in results.items() if r["ok"]] == ["gemini", "ollama"]
    assert {name: r["error_kind"] for name, r in results.items() if not r["ok"]} == {
        "grok": "server_error",
        "deepseek": "unreachable",
        "openrouter": "timeout",
    }


async def test_breaker_opens_fails_fast_and_recovers(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",)) | FAST_RETRIES | {"breaker_threshold": 2, "breaker_cooldown_s": 1.0}
    settings = load_settings(write_credentials(tmp_path / "c.json", body), env={})
    fake.behave("grok", status=503)
    served = Served(settings)
    async with Client(served.server) as client:
        first = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "1"})
        assert "grok is cooling down after 2 failures" in first.content[0].text  # type: ignore[union-attr]
        assert len(fake.requests_for("grok")) == 2, "the third attempt was stopped by the open breaker"
        second = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "2"})
        assert len(fake.requests_for("grok")) == 2, "failed fast: the open breaker sent nothing"
        assert "retry in 1 s" in second.content[0].text  # type: ignore[union-attr]

        fake.behave("grok")  # healthy again
        served.clock.advance(served.app.guards["grok"].breaker.retry_in())  # the cooldown passes
        third = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "3"})
        assert not third.is_error
        status = await client.call_tool("server_status", {})
    grok = (status.structured_content or {})["ais"][0]["metrics"]
    assert (grok["breaker_state"], grok["breaker_trips"]) == ("closed", 1)
    assert grok["failures"] == {"circuit_open": 2}


async def test_concurrency_per_ai_is_limited(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",)) | {"max_concurrency": 2}
    settings = load_settings(write_credentials(tmp_path / "c.json", body), env={})
    fake.behave("grok", latency=30)
    served = Served(settings)
    async with Client(served.server) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for n in range(4):
                    group.start_soon(client.call_tool, "ask_ai", {"ai": "grok", "prompt": str(n)})
                assert await anyio.to_thread.run_sync(fake.wait_for_requests, 2, 5)
                limiter = served.app.guards["grok"].limiter
                # A condition polled under fail_after, not a sleep to let things settle: the limiter has no event.
                while limiter.waiting < 2:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                assert len(fake.requests_for("grok")) == 2, "4 calls: 2 at the provider, 2 waiting for a slot"
                group.cancel_scope.cancel()


async def test_a_cancelled_call_aborts_its_requests_and_leaves_no_task(fake: FakeProvider, client: Client) -> None:
    for name in ("grok", "deepseek", "openrouter"):
        fake.behave(name, latency=30)
    baseline = set(asyncio.all_tasks())
    with anyio.move_on_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(
                client.call_tool, "ask_all_ais", {"prompt": "slow", "ais": ["grok", "deepseek", "openrouter"]}
            )
            assert await anyio.to_thread.run_sync(fake.wait_for_requests, 3, 5)
            group.cancel_scope.cancel()
    assert await anyio.to_thread.run_sync(fake.wait_for_disconnects, 3, 2)
    assert not await settled(baseline), "a task was left running"
    fake.reset()
    assert not (await client.call_tool("ask_ai", {"ai": "grok", "prompt": "next"})).is_error


async def test_a_cancelled_probe_hands_over_to_the_next_call(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",)) | FAST_RETRIES | {"breaker_threshold": 1, "breaker_cooldown_s": 0.2}
    settings = load_settings(write_credentials(tmp_path / "c.json", body), env={})
    fake.behave("grok", status=503)
    served = Served(settings)
    async with Client(served.server) as client:
        await client.call_tool("ask_ai", {"ai": "grok", "prompt": "opens the breaker"})
        breaker = served.app.guards["grok"].breaker
        assert breaker.state == "open"
        served.clock.advance(breaker.retry_in())  # the cooldown passes
        fake.behave("grok", latency=30)
        with anyio.move_on_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "ask_ai", {"ai": "grok", "prompt": "the probe"})
                assert await anyio.to_thread.run_sync(fake.wait_for_requests, 2, 5)
                group.cancel_scope.cancel()  # the client gives up on the probe
        fake.behave("grok")
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "next"})
    assert not result.is_error, result.content
    assert breaker.state == "closed"


async def test_waiting_for_a_slot_ends_at_the_deadline_and_is_not_the_providers_fault(
    fake: FakeProvider, tmp_path: Path
) -> None:
    body = credentials_for(fake, ("grok",)) | {"max_concurrency": 1, "breaker_threshold": 1}
    settings = load_settings(write_credentials(tmp_path / "c.json", body), env={})
    fake.queue("grok", Behaviour(latency=3))
    served = Served(settings)
    async with Client(served.server) as client, anyio.create_task_group() as group:
        group.start_soon(client.call_tool, "ask_ai", {"ai": "grok", "prompt": "holds the only slot"})
        assert await anyio.to_thread.run_sync(fake.wait_for_requests, 1, 5)
        with anyio.fail_after(10):
            queued = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "waits", "deadline_s": 1})
        # Ended by its deadline: had it waited out the 3 s holder, it would have got the slot and an answer.
        assert queued.is_error and "no free slot before the deadline (1 requests in flight)" in queued.content[0].text  # type: ignore[union-attr]
        assert served.app.guards["grok"].breaker.state == "closed", "our own deadline is not a provider failure"
        group.cancel_scope.cancel()


async def test_a_deadline_shorter_than_the_ais_timeout_does_not_open_the_breaker(
    fake: FakeProvider, tmp_path: Path
) -> None:
    body = credentials_for(fake, ("grok",)) | {"breaker_threshold": 1}
    settings = load_settings(write_credentials(tmp_path / "c.json", body), env={})
    fake.behave("grok", latency=3)
    served = Served(settings)
    async with Client(served.server) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "slow", "deadline_s": 1})
        assert result.is_error and "no answer within 1 s" in result.content[0].text  # type: ignore[union-attr]
        assert served.app.guards["grok"].breaker.state == "closed"


async def test_the_sync_fallback_stays_within_the_attempts_time(fake: FakeProvider, registry: Junior) -> None:
    real = registry.pool.async_clients["grok"]
    # The sync client made ready first: its SDK import must not be what eats the attempt's second.
    await anyio.to_thread.run_sync(registry.pool.sync_clients["grok"].prepare)

    class Broken(type(real)):  # type: ignore[misc]
        """An async client whose path fails after 0.6 s for a reason that is not the provider's."""

        async def ask(self, *args: object, **kwargs: object) -> object:
            await anyio.sleep(0.6)
            raise RuntimeError("the async path is broken")

    real.__class__ = Broken
    fake.behave("grok", latency=5)
    with anyio.fail_after(5), pytest.raises(ProviderTimeout, match="no answer within 1 s"):
        await ask(registry, "grok", Request("hi", timeout=1.0, deadline=1.0))
    # One limit for the attempt, the fallback included: it ended the sync client's request upstream too.
    [request] = fake.requests_for("grok")
    assert request.headers["user-agent"].startswith("OpenAI/"), "the sync client sent it"
    assert await anyio.to_thread.run_sync(fake.wait_for_disconnects, 1, 2)
