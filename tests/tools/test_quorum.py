"""Quorum, end to end through mcp.Client, the real SDKs and the loopback fake: `ask_all_ais(min_answers=k)`
returns once k AIs answered and closes the other requests upstream; a consensus vote stops once the AIs
still to answer cannot change it. The cancelled calls are neither errors nor timeouts, in the answer or in
the ledger, and what they streamed before they were cancelled counts against the caps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult
from sqlalchemy import select

from core.config.settings import Settings, load_settings
from core.money.caps import Cap
from core.store.database import Store
from core.store.schema import ledger
from core.store.url import store_url
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials

pytestmark = pytest.mark.anyio
SLOW_S = 10.0  # the slow AIs' latency: a call that waited for them would take this long
FAST = ["gemini", "deepseek"]
SLOW = ["openai", "grok", "ollama"]
# Each call must end before the slow AIs' 10 s: the second fastest answers after 0.5 s, and the first call
# in a process also imports the SDKs (over a second on a busy machine).
WELL_UNDER_SLOW_S = 8.0
PRICED = {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}  # every AI priced, so caps can hold each call
PRICE_PER_TOKEN = 10 / 1e6


def quorum_settings(fake: FakeProvider, tmp_path: Path, **server: Any) -> Settings:
    """Settings for five AIs whose own timeout (30 s) outlasts the slow ones, each with a price."""
    names = (*FAST, *SLOW)
    body = credentials_for(fake, names, **{name: {"timeout": 30, "prices": PRICED} for name in names})
    return load_settings(write_credentials(tmp_path / "credentials.json", body | FAST_RETRIES | server), env={})


def text_of(result: CallToolResult) -> str:
    return result.content[0].text  # type: ignore[union-attr]


async def closed_upstream(fake: FakeProvider, ais: list[str]) -> bool:
    """Every request of `ais` was in progress at the fake once, and none is now."""
    for ai in ais:
        if fake.peak[ai] != 1 or not await anyio.to_thread.run_sync(fake.wait_for_idle, ai, 5):
            return False
    return True


async def test_min_answers_2_of_5_returns_with_the_second_fastest_and_closes_the_slow_requests(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("deepseek", latency=0.5)  # the second fastest
    for ai in SLOW:
        fake.behave(ai, latency=SLOW_S)
    arguments = {"prompt": "hi", "ais": [*SLOW[:2], *FAST, SLOW[2]], "min_answers": 2, "deadline_s": 60}
    async with Client(build_server(quorum_settings(fake, tmp_path))) as client:
        with anyio.fail_after(WELL_UNDER_SLOW_S):
            result = await client.call_tool("ask_all_ais", arguments)
    asked = result.structured_content or {}
    assert [r["ai"] for r in asked["results"]] == FAST, "only the AIs waited for have results"
    assert (asked["succeeded"], asked["failed"], asked["not_waited_for"]) == (2, 0, ["openai", "grok", "ollama"])
    assert not result.is_error
    assert "Not waited for (2 answered): openai, grok, ollama" in text_of(result)
    assert "timeout" not in text_of(result) and "failed" not in text_of(result)
    assert await closed_upstream(fake, SLOW), "a slow AI's request is still open upstream"
    assert await anyio.to_thread.run_sync(fake.wait_for_disconnects, 3, 5), "the slow AIs were hung up on"


async def test_failures_do_not_count_toward_min_answers(fake: FakeProvider, tmp_path: Path) -> None:
    fake.behave("openai", status=400)  # fails at once: not an answer
    fake.behave("deepseek", latency=0.5)
    for ai in ("grok", "ollama"):
        fake.behave(ai, latency=SLOW_S)
    arguments = {"prompt": "hi", "ais": ["openai", *FAST, "grok", "ollama"], "min_answers": 2, "deadline_s": 60}
    async with Client(build_server(quorum_settings(fake, tmp_path))) as client:
        with anyio.fail_after(WELL_UNDER_SLOW_S):
            result = await client.call_tool("ask_all_ais", arguments)
    asked = result.structured_content or {}
    assert [r["ai"] for r in asked["results"]] == ["openai", *FAST]
    assert (asked["succeeded"], asked["failed"], asked["not_waited_for"]) == (2, 1, ["grok", "ollama"])
    assert await closed_upstream(fake, ["grok", "ollama"])


async def test_when_too_many_fail_to_reach_min_answers_every_ai_is_waited_for(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("openai", status=400)
    fake.behave("grok", status=400)
    fake.behave("gemini", latency=0.5)
    arguments = {"prompt": "hi", "ais": ["openai", "grok", "gemini"], "min_answers": 2, "deadline_s": 60}
    async with Client(build_server(quorum_settings(fake, tmp_path))) as client:
        with anyio.fail_after(WELL_UNDER_SLOW_S):
            result = await client.call_tool("ask_all_ais", arguments)
    asked = result.structured_content or {}
    assert [r["ai"] for r in asked["results"]] == ["openai", "grok", "gemini"]
    assert (asked["succeeded"], asked["failed"], asked["not_waited_for"]) == (1, 2, [])
    assert "Not waited for" not in text_of(result)


@pytest.mark.parametrize(
    ("ais", "min_answers", "message"),
    [
        pytest.param(["gemini", "deepseek"], 3, "min_answers must be 1-2 (the 2 AIs asked), got 3", id="over the AIs"),
        pytest.param(None, 6, "min_answers must be 1-5 (the 5 AIs asked), got 6", id="over every AI"),
        pytest.param(["gemini"], 2, "min_answers must be 1-1 (the 1 AI asked), got 2", id="one AI"),
        pytest.param(["gemini", "deepseek"], 0, "greater than or equal to 1", id="zero"),
    ],
)
async def test_a_min_answers_outside_the_ais_asked_is_refused_naming_the_valid_range(
    fake: FakeProvider, tmp_path: Path, ais: list[str] | None, min_answers: int, message: str
) -> None:
    arguments = {"prompt": "hi", "min_answers": min_answers} | ({"ais": ais} if ais else {})
    async with Client(build_server(quorum_settings(fake, tmp_path))) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("ask_all_ais", arguments)
    assert result.is_error and message in text_of(result), text_of(result)
    assert fake.requests == [], "nothing was asked"


async def test_a_vote_stops_once_the_slow_ais_cannot_change_the_majority(fake: FakeProvider, tmp_path: Path) -> None:
    for ai in ("gemini", "deepseek", "ollama"):
        fake.behave(ai, text='{"choice": "yes", "confidence": 0.9, "reason": "fine"}')
    for ai in ("openai", "grok"):
        fake.behave(ai, latency=SLOW_S)
    arguments = {
        "question": "Ship it?",
        "options": ["yes", "no"],
        "ais": ["openai", "gemini", "grok", "deepseek", "ollama"],
        "deadline_s": 60,
    }
    async with Client(build_server(quorum_settings(fake, tmp_path))) as client:
        with anyio.fail_after(WELL_UNDER_SLOW_S):
            result = await client.call_tool("ai_consensus", arguments)
    verdict, text = result.structured_content or {}, text_of(result)
    assert (verdict["majority"], verdict["agreement"], verdict["agreeing"], verdict["parsed"]) == ("yes", 1.0, 3, 3)
    assert [r["ai"] for r in verdict["results"]] == ["gemini", "deepseek", "ollama"]
    assert verdict["not_waited_for"] == ["openai", "grok"]
    stopped = "Stopped early: the vote was decided once 3 of 5 AIs had answered; not waited for: openai, grok"
    assert stopped in verdict["notes"] and stopped in text
    assert text.startswith("Majority: yes (agreement 100%: 3 of 3 parsed votes); 3 of 3 votes parsed\n")
    assert "failed" not in text
    assert await closed_upstream(fake, ["openai", "grok"])


async def test_a_vote_that_is_still_open_waits_for_every_ai(fake: FakeProvider, tmp_path: Path) -> None:
    fake.behave("gemini", text='{"choice": "yes"}')
    fake.behave("deepseek", text='{"choice": "no"}')
    fake.behave("ollama", latency=0.5, text='{"choice": "yes"}')
    arguments = {"question": "Ship it?", "options": ["yes", "no"], "ais": ["gemini", "deepseek", "ollama"]}
    async with Client(build_server(quorum_settings(fake, tmp_path))) as client:
        with anyio.fail_after(WELL_UNDER_SLOW_S):
            result = await client.call_tool("ai_consensus", arguments)
    verdict = result.structured_content or {}
    assert (verdict["majority"], verdict["agreeing"], verdict["parsed"]) == ("yes", 2, 3)
    assert verdict["not_waited_for"] == [] and verdict.get("notes", []) == []


async def test_the_ais_a_quorum_stops_waiting_for_count_what_they_streamed_and_are_not_errors(
    fake: FakeProvider, tmp_path: Path
) -> None:
    settings = quorum_settings(fake, tmp_path, budgets={"daily_usd": 5})  # caps: every call reserves first
    asked = {"ais": ["gemini", *SLOW], "max_tokens": 1_000}
    async with Client(build_server(settings)) as client:  # the SDKs imported before the race below
        with anyio.fail_after(30):
            await client.call_tool("ask_all_ais", {"prompt": "warm up", **asked})
    before = await counted_per_ai(settings)
    fake.reset()
    fake.behave("gemini", latency=2)  # answers once the slow AIs are streaming
    for ai in SLOW:
        fake.behave(ai, text=" ".join(["word"] * 400), chunk_delay=0.05)  # 20 s of answer, a word at a time
    async with Client(build_server(settings)) as client:  # leaving it waits for the ledger rows
        with anyio.fail_after(WELL_UNDER_SLOW_S):
            result = await client.call_tool("ask_all_ais", {"prompt": "hi", "min_answers": 1, **asked})
    assert (result.structured_content or {})["not_waited_for"] == SLOW
    after = await counted_per_ai(settings)
    streamed = {ai: fake.streamed[ai] * PRICE_PER_TOKEN for ai in SLOW}  # what the provider bills at least
    assert any(streamed.values()), "no slow AI streamed before the quorum: nothing was cut off"
    for ai in SLOW:
        assert after[ai] - before[ai] >= streamed[ai], f"{ai}: the caps count less than it streamed"
    async with Store(store_url(settings)) as store:
        rows = {row.ai: row for row in await store.ledger.spend(since=0)}
        async with store.read() as conn:
            cancelled = {
                ai: (state, cost)
                for ai, state, cost in await conn.execute(
                    select(ledger.c.ai, ledger.c.state, ledger.c.cost_usd).where(ledger.c.outcome == "cancelled")
                )
            }
    assert {ai: cancelled[ai] for ai in SLOW if fake.streamed[ai]} == {
        ai: ("settled", None) for ai in SLOW if fake.streamed[ai]
    }, "sent: settled, its cost unknown"
    assert all(row.errors == 0 and row.reserved_usd == 0 for row in rows.values()), rows
    assert await closed_upstream(fake, SLOW)


async def counted_per_ai(settings: Settings) -> dict[str, float]:
    """What each AI's calls count against the caps today."""
    caps = [Cap(f"daily:{ai}", 5, "day", ai) for ai in (*FAST, *SLOW)]
    async with Store(store_url(settings)) as store:
        spent = await store.ledger.spent(caps)
    return {ai: spent[f"daily:{ai}"] for ai in (*FAST, *SLOW)}
