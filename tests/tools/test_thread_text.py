"""Any text is a thread's text, the same on SQLite and PostgreSQL: a prompt or an answer holding U+0000
(which PostgreSQL's text cannot hold) is recorded, read back and sent on as it was; a thread id that could
not be one (it holds U+0000) is "no thread", and a search for U+0000 finds it, never blaming the store."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from core.config.settings import Settings
from core.store.database import Store
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.postgres import PostgresServer
from tests.tools.test_threads import text_of, thread_of, turns_of

pytestmark = pytest.mark.anyio
DEADLINE_S = 30
# U+0000, and what an escape of it could be confused with: the text must come back as it was.
PROMPT = "before\x00after; \\0 \\x00 \\u0000 \uffff0 \uffff\uffff \ue000 100% of_rows"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a new SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'junior.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url(server.create_database())


def no_thread(result: CallToolResult) -> bool:
    """The usual answer for a thread the store does not hold, not the store's failure."""
    return result.is_error and "no thread" in text_of(result) and "cannot be used" not in text_of(result)


async def test_a_prompt_holding_nul_is_recorded_read_and_sent_on_as_it_was(
    fake: FakeProvider, settings: Settings, store_url: str
) -> None:
    fake.behave("gemini", text="gemini\x00says")
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings.model_copy(update={"database_url": store_url}))) as client:
            first = await client.call_tool("ask_ai", {"ai": "grok", "prompt": PROMPT})
            thread = thread_of(first)
            second = await client.call_tool("ask_ai", {"ai": "gemini", "prompt": "next\x00", "continuation_id": thread})
            found = await client.call_tool("threads", {"action": "search", "search": "\x00after"})
            shown = await client.call_tool("threads", {"action": "show", "thread_id": thread})
    assert "not recorded" not in text_of(first) + text_of(second), text_of(first) + text_of(second)
    assert thread_of(second) == thread
    # Gemini, continuing the thread, was sent the first call exactly as it was.
    grok_answer = f"[grok:grok-3-mini] {PROMPT}"
    heard = f"Other AIs answered:\n\n[grok (grok-3-mini)]\n{grok_answer}"
    assert turns_of(fake.requests_for("gemini")[0]) == [("user", f"{PROMPT}\n\n{heard}\n\nnext\x00")]
    async with Store(store_url) as store:
        turns = await store.threads.turns(thread)
        [info] = await store.threads.recent()
    assert [turn.text for turn in turns] == [PROMPT, grok_answer, "next\x00", "gemini\x00says"]
    assert info.title == PROMPT
    assert (found.structured_content or {})["threads"][0]["id"] == thread, text_of(found)
    assert PROMPT in text_of(shown)


async def test_a_thread_id_holding_nul_is_no_thread_and_a_search_for_nul_finds_none(
    fake: FakeProvider, settings: Settings, store_url: str
) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings.model_copy(update={"database_url": store_url}))) as client:
            thread = thread_of(await client.call_tool("ask_ai", {"ai": "grok", "prompt": "plain"}))
            for bad in (f"{thread}\x00", "\x00", "x\x00y"):
                asked = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "continuation_id": bad})
                shown = await client.call_tool("threads", {"action": "show", "thread_id": bad})
                deleted = await client.call_tool("threads", {"action": "delete", "thread_id": bad})
                assert no_thread(asked) and no_thread(shown) and no_thread(deleted), text_of(asked) + text_of(shown)
            found = await client.call_tool("threads", {"action": "search", "search": "\x00"})
    assert not found.is_error and (found.structured_content or {})["threads"] == [], text_of(found)
    assert len(fake.requests_for("grok")) == 1, "a call on no thread asks no AI"
