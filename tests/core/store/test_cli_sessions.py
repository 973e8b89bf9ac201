"""CLI sessions in the store, on SQLite and PostgreSQL: one per (thread, AI), replaced and dropped; kept across
stores on one database; gone with their thread; and a store made before them gains their table."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import delete, text

from core.store.database import Store
from core.store.schema import schema_version
from core.store.turns import CliSession

pytestmark = pytest.mark.anyio
DEADLINE_S = 30
DAY_S = 86_400.0


async def test_a_session_is_kept_per_thread_and_ai_replaced_and_dropped(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store:
            thread, other = await store.threads.create("one"), await store.threads.create("two")
            sessions = store.cli_sessions
            await sessions.put(thread, "claude", CliSession("s1", cost_usd=0.0125, input_tokens=100, output_tokens=30))
            await sessions.put(thread, "codex", CliSession("c1", input_tokens=21, output_tokens=8))
            first = await sessions.get(thread, "claude")
            await sessions.put(thread, "claude", CliSession("s1", cost_usd=0.025, input_tokens=2**40))
            replaced = await sessions.get(thread, "claude")
            others = (await sessions.get(other, "claude"), await sessions.get(thread, "gemini"))
            await sessions.drop(thread, "claude")
            await sessions.drop(thread, "claude")  # none: nothing happens
            dropped, codex = await sessions.get(thread, "claude"), await sessions.get(thread, "codex")
    assert first == CliSession("s1", 0.0125, 100, 30)
    assert replaced == CliSession("s1", 0.025, 2**40, None), "a run's figures replace the last, unknown ones too"
    assert others == (None, None), "another thread's or another AI's session is not this one"
    assert dropped is None and codex == CliSession("c1", None, 21, 8)


async def test_a_session_written_by_one_store_is_read_by_another_on_the_same_database(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as first:
            thread = await first.threads.create("one")
            await first.cli_sessions.put(thread, "claude", CliSession("s1", cost_usd=0.0125))
        async with Store(url) as second:
            session = await second.cli_sessions.get(thread, "claude")
    assert session == CliSession("s1", 0.0125)


async def test_a_threads_sessions_go_when_it_is_deleted_or_expires(url: str) -> None:
    now = [1_000.0]
    with anyio.fail_after(DEADLINE_S):
        async with Store(url, thread_ttl_s=30 * DAY_S, clock=lambda: now[0]) as store:
            deleted, expiring, kept = [await store.threads.create(title) for title in ("a", "b", "c")]
            for thread in (deleted, expiring, kept):
                await store.cli_sessions.put(thread, "claude", CliSession(f"s-{thread}"))
            await store.cli_sessions.put("never-stored", "claude", CliSession("orphan"))
            assert await store.threads.delete(deleted)
            now[0] += 20 * DAY_S
            await store.threads.append(kept, [])
            now[0] += 20 * DAY_S
            assert await store.threads.purge_expired() == 1
            left = {thread: await store.cli_sessions.get(thread, "claude") for thread in (deleted, expiring, kept)}
            orphan = await store.cli_sessions.get("never-stored", "claude")
    assert left == {deleted: None, expiring: None, kept: CliSession(f"s-{kept}")}
    assert orphan is None, "a session of a thread that is not in the store goes at the purge"


async def test_a_store_made_before_cli_sessions_gains_their_table_at_open(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store:
            thread = await store.threads.create("kept")
            async with store.write(schema=True) as conn:  # back to version 7
                await conn.execute(text("DROP TABLE cli_sessions"))
                await conn.execute(delete(schema_version).where(schema_version.c.version == 8))
        async with Store(url) as store:
            await store.cli_sessions.put(thread, "claude", CliSession("s1"))
            session = await store.cli_sessions.get(thread, "claude")
            info = await store.threads.info(thread)
    assert store.applied == (8,) and session == CliSession("s1") and info.title == "kept"
