"""One deadline per call, through the real MCP client, the real SDKs and the loopback fake: `deadline_s` is
counted from when the call comes in, so what it waits for before asking (another call holding its thread,
a client slow to list its roots) comes out of it, never on top of it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult, ListRootsResult

from core.config.settings import Settings, load_settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
HOLD_S = 5.0  # how long the first call holds the thread: its AI's latency
DEADLINE_S = 6.0  # the second call's deadline_s: the thread is busy for most of it
SLACK_S = 1.0  # a call ends by its deadline_s, give or take this
WAIT_S = 60  # every wait of a test, at most


def slow_settings(fake: FakeProvider, tmp_path: Path, **server: Any) -> Settings:
    """grok and gemini, whose own timeout (30 s) outlasts every latency here: only deadlines end a call."""
    body = credentials_for(fake, ("grok", "gemini"), grok={"timeout": 30}, gemini={"timeout": 30})
    return load_settings(write_credentials(tmp_path / "credentials.json", body | FAST_RETRIES | server), env={})


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def thread_of(result: CallToolResult) -> str:
    thread = (result.structured_content or {}).get("continuation_id")
    assert isinstance(thread, str), f"no continuation_id in {result.structured_content}"
    return thread


SECOND_CALLS = {
    "ask_ai": {"ai": "grok", "prompt": "second"},
    "ask_all_ais": {"ais": ["grok", "gemini"], "prompt": "second"},
    "ai_debate": {"topic": "second", "ais": ["grok", "gemini"], "rounds": 1},
}


@pytest.mark.parametrize("tool", list(SECOND_CALLS))
async def test_a_call_that_waits_for_its_thread_still_ends_within_its_deadline(
    tool: str, fake: FakeProvider, tmp_path: Path
) -> None:
    async with Client(build_server(slow_settings(fake, tmp_path))) as client:
        with anyio.fail_after(WAIT_S):
            thread = thread_of(await client.call_tool("ask_ai", {"ai": "grok", "prompt": "first"}))
            fake.behave("grok", latency=HOLD_S)
            fake.behave("gemini", latency=HOLD_S)
            first: list[CallToolResult] = []

            async def holding() -> None:
                arguments = {"ai": "grok", "prompt": "holds the thread", "continuation_id": thread, "deadline_s": 30}
                first.append(await client.call_tool("ask_ai", arguments))

            async with anyio.create_task_group() as group:
                group.start_soon(holding)
                assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, WAIT_S)  # it holds the thread
                started = time.monotonic()
                arguments = {**SECOND_CALLS[tool], "continuation_id": thread, "deadline_s": DEADLINE_S}
                second = await client.call_tool(tool, arguments)
                took = time.monotonic() - started
    assert took <= DEADLINE_S + SLACK_S, f"{tool} took {took:.2f} s with deadline_s {DEADLINE_S:g}"
    assert not first[0].is_error, "the call holding the thread answered"
    assert "deadline" in text_of(second), text_of(second)


async def test_a_client_slow_to_list_its_roots_does_not_stretch_the_call(fake: FakeProvider, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("read me")
    settings = slow_settings(fake, tmp_path, allowed_roots=[str(project)])
    never = anyio.Event()

    async def silent(_context: Any) -> ListRootsResult:
        await never.wait()  # a client that never lists its roots
        raise AssertionError("unreachable")

    deadline_s = 3.0
    arguments = {"ai": "grok", "prompt": "hi", "files": [str(project / "notes.txt")], "deadline_s": deadline_s}
    async with Client(build_server(settings), mode="legacy", list_roots_callback=silent) as client:
        with anyio.fail_after(WAIT_S):
            await client.call_tool("ask_ai", {"ai": "grok", "prompt": "warm up"})  # the SDK imported
            started = time.monotonic()
            result = await client.call_tool("ask_ai", arguments)
            took = time.monotonic() - started
    assert took <= deadline_s + SLACK_S, f"took {took:.2f} s with deadline_s {deadline_s:g}"
    assert result.is_error and "deadline" in text_of(result), text_of(result)
