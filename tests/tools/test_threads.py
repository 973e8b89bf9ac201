"""Threads through the real MCP client: an answer names its thread, continuing it sends each AI the earlier
turns as chat messages (its own answers as its turns, the others' as labelled context), across tools, AIs
and a restart of the server process; calls on one thread at once take turns; the store failing never
fails a call; threads can be listed, searched, read and deleted, as resources and with the threads tool."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import CallToolResult, TextResourceContents

from core.config.settings import Settings, load_settings
from core.errors import UnknownThread
from core.store.database import Store
from core.store.url import store_url
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.fakes.provider import Recorded
from tests.helpers import FAST_RETRIES, INIT, INITIALIZED, SERVER, credentials_for, frames, tool, write_credentials

pytestmark = pytest.mark.anyio
DEADLINE_S = 30


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def thread_of(result: CallToolResult) -> str:
    thread = (result.structured_content or {}).get("continuation_id")
    assert isinstance(thread, str), f"no continuation_id in {result.structured_content}"
    assert text_of(result).rstrip().endswith(f"continuation_id: {thread} (pass it to continue this conversation)")
    return thread


def turns_of(recorded: Recorded) -> list[tuple[str, str]]:
    """The chat turns a request carried, as (role, text), the system prompt left out; Gemini's "model"
    role is called "assistant" here."""
    if recorded.api == "openai":
        return [(m["role"], str(m["content"])) for m in recorded.body["messages"] if m["role"] != "system"]
    return [
        ("assistant" if c["role"] == "model" else c["role"], "".join(p.get("text", "") for p in c["parts"]))
        for c in recorded.body["contents"]
    ]


async def test_a_thread_continues_across_tools_ais_and_a_server_restart_as_chat_messages(
    fake: FakeProvider, settings: Settings, tmp_path: Path
) -> None:
    fake.behave("gemini", text="Yes: SQLite is enough for one writer.")
    fake.behave("grok", text="At ten writers, take PostgreSQL.")
    params = StdioServerParameters(
        command=sys.executable, args=[SERVER], env={**os.environ, "JUNIOR_AI_CREDENTIALS": str(settings.source)}
    )
    with anyio.fail_after(DEADLINE_S):
        async with Client(params) as client:  # a real server process, stopped after one call
            first = await client.call_tool("ask_ai", {"ai": "gemini", "prompt": "Is SQLite enough?"})
        thread = thread_of(first)
        async with Client(params) as client:  # a new process: the thread is in the store, not in memory
            second = await client.call_tool(
                "ask_all_ais", {"ais": ["gemini", "grok"], "prompt": "And for ten writers?", "continuation_id": thread}
            )
            third = await client.call_tool(
                "ai_debate", {"topic": "SQLite or PostgreSQL?", "ais": ["grok", "gemini"], "rounds": 1,
                              "continuation_id": thread},
            )  # fmt: skip
    assert thread_of(second) == thread_of(third) == thread
    gemini, grok = fake.requests_for("gemini"), fake.requests_for("grok")
    assert turns_of(gemini[1]) == [
        ("user", "Is SQLite enough?"),
        ("assistant", "Yes: SQLite is enough for one writer."),
        ("user", "And for ten writers?"),
    ]
    [(role, asked)] = turns_of(grok[0])  # grok joined late: the first call is context, in one user turn
    assert role == "user" and asked.startswith("Is SQLite enough?\n\nOther AIs answered:\n\n[gemini (")
    assert asked.endswith("Yes: SQLite is enough for one writer.\n\nAnd for ten writers?")
    debated = turns_of(grok[1])
    assert [role for role, _ in debated] == ["user", "assistant", "user"]
    assert debated[1][1] == "At ten writers, take PostgreSQL.", "grok's own answer is its own turn"
    heard, _, topic = debated[2][1].partition("Debate topic: SQLite or PostgreSQL?")
    assert heard.startswith("Other AIs answered that too:\n\n[gemini (") and topic


async def test_a_server_killed_in_the_middle_of_a_call_loses_that_call_only(
    fake: FakeProvider, settings: Settings
) -> None:
    env = {**os.environ, "JUNIOR_AI_CREDENTIALS": str(settings.source)}
    params = StdioServerParameters(command=sys.executable, args=[SERVER], env=env)
    fake.behave("grok", text="kept")
    with anyio.fail_after(DEADLINE_S):
        async with Client(params) as client:
            thread = thread_of(await client.call_tool("ask_ai", {"ai": "grok", "prompt": "first"}))
        fake.behave("grok", latency=60)
        call = tool(1, "ask_ai", {"ai": "grok", "prompt": "never answered", "continuation_id": thread})
        process = await anyio.open_process([sys.executable, SERVER], env=env)
        assert process.stdin is not None
        await process.stdin.send(b"".join(frames(INIT, INITIALIZED, call)))
        await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, DEADLINE_S)
        process.kill()  # SIGKILL: no cleanup of any kind
        await process.wait()
        fake.behave("grok", text="after the crash")
        async with Client(params) as client:
            after = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "third", "continuation_id": thread})
    assert not after.is_error
    async with Store(store_url(settings)) as store:
        turns = await store.threads.turns(thread)
    assert [(t.role, t.text) for t in turns] == [
        ("user", "first"),
        ("assistant", "kept"),
        ("user", "third"),
        ("assistant", "after the crash"),
    ]


async def test_twenty_calls_on_one_thread_at_once_take_turns_and_all_are_recorded(
    fake: FakeProvider, settings: Settings
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:
            thread = thread_of(await client.call_tool("ask_ai", {"ai": "grok", "prompt": "call 0"}))
            results: dict[int, CallToolResult] = {}

            async def call(n: int) -> None:
                arguments = {"ai": "grok", "prompt": f"call {n}", "continuation_id": thread}
                results[n] = await client.call_tool("ask_ai", arguments)

            async with anyio.create_task_group() as group:
                for n in range(1, 21):
                    group.start_soon(call, n)
        async with Store(store_url(settings)) as store:
            turns = await store.threads.turns(thread)
    assert all(not result.is_error and thread_of(result) == thread for result in results.values())
    assert [t.role for t in turns] == ["user", "assistant"] * 21
    for prompt, answer in zip(turns[::2], turns[1::2], strict=True):
        assert answer.text.endswith(f"] {prompt.text}"), "each answer follows its own prompt"
    sizes = sorted(len(turns_of(r)) for r in fake.requests_for("grok"))
    assert sizes == [1, *range(3, 42, 2)], "each call saw every call before it: none ran beside another"


async def test_an_unknown_thread_is_a_clear_error(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "continuation_id": "f" * 32})
    assert result.is_error
    assert str(UnknownThread("f" * 32)) in text_of(result)


async def test_a_store_that_cannot_open_never_fails_a_call_and_says_why(
    fake: FakeProvider, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "junior.db").mkdir()
    broken = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'junior.db'}"})
    async with Client(build_server(broken)) as client:
        fresh = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"})
        continued = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "again", "continuation_id": "a" * 32})
    for result in (fresh, continued):
        assert not result.is_error and "] hi" in text_of(fresh)
        assert "is a directory, not a file" in text_of(result)
    assert "continuation_id" not in (fresh.structured_content or {})
    assert "this call went without the thread's history" in text_of(continued)
    assert turns_of(fake.requests_for("grok")[1]) == [("user", "again")]


async def test_history_is_fitted_to_a_small_context_window_with_a_note(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok", "gemini"), grok={"context_tokens": 1_024}) | FAST_RETRIES
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    long = "word " * 1_000  # ~1,250 estimated tokens: one call of it fills grok's history budget
    async with Client(build_server(settings)) as client:
        thread = thread_of(await client.call_tool("ask_all_ais", {"prompt": f"first {long}"}))
        await client.call_tool("ask_all_ais", {"prompt": "second", "continuation_id": thread})
        third = await client.call_tool("ask_all_ais", {"prompt": "third", "continuation_id": thread})
    assert "grok: the 1 oldest of 2 earlier calls in this thread were left out to fit its context window" in (
        text_of(third)
    )
    grok, gemini = fake.requests_for("grok")[-1], fake.requests_for("gemini")[-1]
    whole = long[:1_000]  # more than the fake's echo of a prompt (200 characters) could carry
    assert not any(whole in text for _, text in turns_of(grok))
    assert any(whole in text for _, text in turns_of(gemini)), "gemini's window holds the whole thread"


async def test_threads_are_listed_searched_read_and_deleted(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("grok", text="Use a connection pool.")
    async with Client(build_server(settings)) as client:
        pooled = thread_of(await client.call_tool("ask_ai", {"ai": "grok", "prompt": "Why is the importer slow?"}))
        other = thread_of(await client.call_tool("ask_ai", {"ai": "gemini", "prompt": "Name a colour"}))
        listing = await client.read_resource("junior://threads")
        transcript = await client.read_resource(f"junior://threads/{pooled}")
        with pytest.raises(MCPError, match="no thread 'nope'"):
            await client.read_resource("junior://threads/nope")
        listed = await client.call_tool("threads", {})
        searched = await client.call_tool("threads", {"action": "search", "search": "CONNECTION POOL"})
        shown = await client.call_tool("threads", {"action": "show", "thread_id": pooled})
        deleted = await client.call_tool("threads", {"action": "delete", "thread_id": pooled})
        again = await client.call_tool("threads", {"action": "delete", "thread_id": pooled})
        after = await client.call_tool("threads", {"action": "list"})
    [listing_text] = [c.text for c in listing.contents if isinstance(c, TextResourceContents)]
    assert listing_text.index(other) < listing_text.index(pooled), "the latest first"
    assert f"`{pooled}` Why is the importer slow? (grok; 2 turns;" in listing_text
    [markdown] = [c.text for c in transcript.contents if isinstance(c, TextResourceContents)]
    assert markdown.startswith("# Why is the importer slow?\n")
    assert "## 1. Asked (ask_ai)" in markdown and "### grok (grok-3-mini)\nUse a connection pool." in markdown
    assert [t["id"] for t in _threads(listed)] == [other, pooled]
    assert [t["id"] for t in _threads(searched)] == [pooled]
    assert "Use a connection pool." in text_of(shown)
    assert (deleted.structured_content or {})["deleted"] is True
    assert again.is_error and "no thread" in text_of(again)
    assert [t["id"] for t in _threads(after)] == [other]


def _threads(result: CallToolResult) -> list[dict[str, Any]]:
    assert not result.is_error, text_of(result)
    return list((result.structured_content or {})["threads"])
