"""Threads in the store, on SQLite and PostgreSQL: one call's turns stay together, listings show what a
user needs to pick a thread, search finds words in any turn, deletion and expiry remove everything."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from core.errors import UnknownThread
from core.store.database import Store
from core.store.turns import NewTurn

pytestmark = pytest.mark.anyio
DEADLINE_S = 30
DAY_S = 86_400.0


def exchange(n: int) -> list[NewTurn]:
    """One call's turns: the prompt, then two AIs' answers."""
    return [
        NewTurn("user", f"prompt {n}", tool="ask_all_ais", files={"src/a.py": f"sha-{n}"}),
        NewTurn("assistant", f"gemini on {n}", ai="gemini", model="gemini-2.5-pro"),
        NewTurn("assistant", f"grok on {n}", ai="grok", model="grok-3-mini"),
    ]


async def test_twenty_calls_appending_at_once_each_keep_their_turns_together(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as first, Store(url) as second:
            thread = await first.threads.create("busy")
            async with anyio.create_task_group() as group:
                for n in range(20):
                    group.start_soon((first if n % 2 else second).threads.append, thread, exchange(n))
            turns = await first.threads.turns(thread)
    assert [turn.seq for turn in turns] == list(range(1, 61))
    for start in range(0, 60, 3):
        prompt, *answers = turns[start : start + 3]
        n = int(prompt.text.split()[1])
        assert [t.text for t in answers] == [f"gemini on {n}", f"grok on {n}"]
        assert (prompt.tool, dict(prompt.files)) == ("ask_all_ais", {"src/a.py": f"sha-{n}"})


async def test_listing_shows_the_latest_first_with_turns_and_the_ais_that_answered(url: str) -> None:
    now = [1000.0]
    async with Store(url, clock=lambda: now[0]) as store:
        older = await store.threads.create("older")
        now[0] += 1
        newer = await store.threads.create("newer")
        now[0] += 1
        await store.threads.append(older, exchange(1))
        listed = await store.threads.recent()
        info = await store.threads.info(newer)
    assert [(t.id, t.title, t.turns, t.ais) for t in listed] == [
        (older, "older", 3, ("gemini", "grok")),
        (newer, "newer", 0, ()),
    ]
    assert (info.last_activity, info.created) == (1001.0, 1001.0)


async def test_search_finds_a_word_in_a_title_or_in_any_turn_ignoring_case(url: str) -> None:
    async with Store(url) as store:
        titled = await store.threads.create("Review the IMPORTER")
        talked = await store.threads.create("something else")
        await store.threads.append(talked, [NewTurn("assistant", "the importer leaks 100% of_rows", ai="grok")])
        await store.threads.create("unrelated")
        found = {t.id for t in await store.threads.recent(search="importer")}
        literal = {t.id for t in await store.threads.recent(search="100% of_")}
        wildcard = await store.threads.recent(search="%")
    assert found == {titled, talked}
    assert literal == {talked}, "% and _ are searched for, not wildcards"
    assert [t.id for t in wildcard] == [talked]


async def test_a_deleted_thread_is_gone_with_its_turns(url: str) -> None:
    async with Store(url) as store:
        thread = await store.threads.create("doomed")
        await store.threads.append(thread, exchange(1))
        assert await store.threads.delete(thread) is True
        assert await store.threads.delete(thread) is False
        with pytest.raises(UnknownThread, match="no thread"):
            await store.threads.turns(thread)
        assert await store.threads.recent() == []


async def test_a_thread_expires_after_its_last_activity_and_is_purged(url: str) -> None:
    now = [0.0]
    async with Store(url, thread_ttl_s=30 * DAY_S, clock=lambda: now[0]) as store:
        kept = await store.threads.create("kept alive")
        lapsed = await store.threads.create("left alone")
        now[0] = 20 * DAY_S
        await store.threads.append(kept, exchange(1))  # activity pushes its expiry to day 50
        now[0] = 31 * DAY_S
        assert [t.id for t in await store.threads.recent()] == [kept]
        with pytest.raises(UnknownThread):
            await store.threads.append(lapsed, exchange(2))
        assert await store.threads.purge_expired() == 1
        now[0] = 51 * DAY_S
        assert await store.threads.purge_expired() == 1
        assert await store.threads.recent() == []


async def test_writes_waiting_together_share_transactions_and_an_unknown_thread_fails_alone(tmp_path: Path) -> None:
    async with Store(f"sqlite+aiosqlite:///{tmp_path / 'junior.db'}") as store:
        thread = await store.threads.create("busy")
        before = store.write_batches
        outcomes: dict[int, object] = {}

        async def append(n: int) -> None:
            target = "gone" if n == 7 else thread
            try:
                outcomes[n] = await store.threads.append(target, [NewTurn("user", f"prompt {n}")])
            except UnknownThread as error:
                outcomes[n] = error

        with anyio.fail_after(DEADLINE_S):
            async with anyio.create_task_group() as group:
                for n in range(50):
                    group.start_soon(append, n)
        turns = await store.threads.turns(thread)
    assert isinstance(outcomes.pop(7), UnknownThread)
    assert sorted(place for places in outcomes.values() for place in places) == list(range(1, 50))  # type: ignore[attr-defined]
    assert [turn.seq for turn in turns] == list(range(1, 50))
    assert store.write_batches - before < 50, "some of the 50 shared a transaction"
