"""A request that was sent has cost money, however the call ended: through the MCP client, the real server,
the openai SDK and the loopback fake's streams, on SQLite and PostgreSQL. Calls a client cancels mid-stream
stay counted against the caps (never below what the provider streamed, at the configured price), so the cap
refuses what they used up; a provider that answers past max_tokens is booked as it reported or streamed,
and its ledger row says so."""

from __future__ import annotations

import re
from collections.abc import Callable
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
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio
DEADLINE_S = 60
# Output alone is priced: what a call costs does not hang on its system prompt.
OUTPUT_PER_MTOK = 3.0
PRICES = {"*": {"input_per_mtok": 0, "output_per_mtok": OUTPUT_PER_MTOK}}
# A long answer, streamed a word (the fake's token) every 50 ms: 20 s in all, so any cancel cuts it.
LONG = Behaviour(text=" ".join(["word"] * 400), chunk_delay=0.05)
CALLS = 8
# Each call's worst case: 4,096 tokens of answer (no max_tokens) at $3 per Mtok, $0.012288; eight fit under
# $0.10, a ninth does not.
DAILY_USD = 0.10


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a new SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'junior.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url(server.create_database())


def priced(fake: FakeProvider, tmp_path: Path, **server: Any) -> Settings:
    """ollama (the openai SDK, streaming) at $3 per million output tokens."""
    body = credentials_for(fake, ("ollama",), ollama={"prices": PRICES, "timeout": 60}) | FAST_RETRIES | server
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


async def cancelled_mid_stream(
    client: Client, fake: FakeProvider, calls: list[dict[str, Any]], words: int, *, active: int | None = None
) -> None:
    """Make `calls` to ask_ai at once and cancel them all (notifications/cancelled) once `active` of them (all,
    by default) are in progress at the fake and it has streamed `words` words in all; returns once every
    stream is closed upstream."""
    async with anyio.create_task_group() as group:
        for arguments in calls:
            group.start_soon(client.call_tool, "ask_ai", arguments)
        assert await anyio.to_thread.run_sync(fake.wait_for_active, "ollama", active or len(calls), 20.0)
        assert await anyio.to_thread.run_sync(fake.wait_for_streamed, "ollama", words, 20.0)
        group.cancel_scope.cancel()
    assert await anyio.to_thread.run_sync(fake.wait_for_idle, "ollama", 20.0), "a stream ran on upstream"


async def rows(url: str, *columns: str) -> list[tuple[Any, ...]]:
    async with Store(url) as store, store.read() as conn:
        return [tuple(row) for row in await conn.execute(select(*(ledger.c[name] for name in columns)))]


async def test_calls_a_client_cancels_mid_stream_stay_counted_against_the_cap_never_below_what_streamed(
    fake: FakeProvider, tmp_path: Path, database_url: str
) -> None:
    fake.behave("ollama", LONG)
    fake.queue("ollama", *[Behaviour(latency=30)] * (CALLS // 2))  # the first half: cancelled before a token
    settings = priced(fake, tmp_path, budgets={"daily_usd": DAILY_USD}, database_url=database_url)
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:  # leaving it waits for the ledger rows
            await cancelled_mid_stream(client, fake, [{"ai": "ollama", "prompt": "hi"}] * CALLS, CALLS * 10)
        streamed_usd = fake.streamed["ollama"] * OUTPUT_PER_MTOK / 1e6  # the provider bills at least this
        fake.behave("ollama", text="short")
        async with Client(build_server(settings)) as client:
            refused = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi"})
            status = await client.call_tool("server_status", {})
    async with Store(database_url) as store:
        counted = (await store.ledger.spent([Cap("daily", DAILY_USD, "day")]))["daily"]
    assert counted >= streamed_usd > 0, "the caps count less than the provider streamed"
    assert counted == pytest.approx(CALLS * 4_096 * OUTPUT_PER_MTOK / 1e6), "each worst case"
    assert (refused.structured_content or {}).get("error_kind") == "budget_exceeded", text_of(refused)
    assert fake.requests_for("ollama")[CALLS:] == [], "the refused call was not sent"
    written = await rows(database_url, "state", "outcome", "cost_usd", "streamed_tokens", "note")
    assert [row[:3] for row in written] == [("settled", "cancelled", None)] * CALLS, "sent, cost unknown"
    assert sum(row[3] or 0 for row in written) > 0, "the tokens seen streamed are in the rows"
    said = [
        re.fullmatch(r"cancelled after sending \((.*)\): cost unknown, counted at its estimate", row[4])
        for row in written
    ]
    seen = [match[1] for match in said if match is not None]
    assert seen.count("nothing streamed yet") == CALLS // 2, written  # the half cancelled before a token
    assert sum(bool(re.fullmatch(r"[\d,]+ tokens seen streamed", part)) for part in seen) == CALLS // 2, written
    spend = text_of(status)
    assert f"ollama:llama3.2 $0 ({CALLS} calls, {CALLS} cancelled after sending, $0.098 counted" in spend, spend
    assert "spent today (UTC): $0 + $0.098 counted for calls of unknown cost — " in spend, spend


async def test_a_provider_that_reports_more_output_than_max_tokens_is_booked_as_reported_and_the_row_says_so(
    fake: FakeProvider, tmp_path: Path, database_url: str
) -> None:
    fake.behave("ollama", usage=(1, 500, 0, 0))
    settings = priced(fake, tmp_path, budgets={"daily_usd": 5}, database_url=database_url)
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:
            answer = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_tokens": 100})
    assert not answer.is_error, text_of(answer)
    [(state, outcome, cost)] = await rows(database_url, "state", "outcome", "cost_usd")
    assert (state, outcome, cost) == ("settled", "ok", pytest.approx(500 * OUTPUT_PER_MTOK / 1e6))
    [(note,)] = await rows(database_url, "note")
    assert note == "the provider reported 500 output tokens, over max_tokens 100: booked as reported"


async def test_a_call_cancelled_after_streaming_past_max_tokens_counts_what_it_streamed(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("ollama", LONG)
    settings = priced(fake, tmp_path, budgets={"daily_usd": 5})
    heard = anyio.Event()
    seen: list[int] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message and message.startswith("ollama: "):  # "ollama: 40 tokens": what the server has received
            seen.append(int(message.split()[1].replace(",", "")))
            if seen[-1] >= 40:
                heard.set()

    arguments = {"ai": "ollama", "prompt": "hi", "max_tokens": 5}
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(_call, client, arguments, on_progress)
                await heard.wait()
                group.cancel_scope.cancel()
    [(state, outcome)] = await rows(store_url(settings), "state", "outcome")
    assert (state, outcome) == ("settled", "cancelled")
    [(estimate, streamed, note)] = await rows(store_url(settings), "estimate_usd", "streamed_tokens", "note")
    assert streamed >= seen[-1] > 5
    assert estimate == pytest.approx(streamed * OUTPUT_PER_MTOK / 1e6), "what streamed, priced"
    assert note == (
        f"cancelled after sending ({streamed:,} tokens seen streamed): cost unknown, counted at its estimate; "
        f"the provider streamed {streamed:,} output tokens, over max_tokens 5: booked as streamed"
    )


async def _call(client: Client, arguments: dict[str, Any], on_progress: Callable[..., Any]) -> None:
    await client.call_tool("ask_ai", arguments, progress_callback=on_progress)


async def test_a_call_cancelled_while_waiting_for_a_slot_spent_nothing_and_is_released(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("ollama", LONG)
    body = {"prices": PRICES, "timeout": 60, "max_concurrency": 1}  # the second call waits for the first
    settings = load_settings(
        write_credentials(
            tmp_path / "credentials.json",
            credentials_for(fake, ("ollama",), ollama=body) | FAST_RETRIES | {"budgets": {"daily_usd": 5}},
        ),
        env={},
    )
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:
            await cancelled_mid_stream(client, fake, [{"ai": "ollama", "prompt": "hi"}] * 2, 5, active=1)
    assert len(fake.requests_for("ollama")) == 1, "the second call was never sent"
    written = sorted(await rows(store_url(settings), "state", "outcome", "cost_usd"))
    assert written == [("released", "cancelled", None), ("settled", "cancelled", None)]
    async with Store(store_url(settings)) as store:
        counted = (await store.ledger.spent([Cap("daily", 5, "day")]))["daily"]
    assert counted == pytest.approx(4_096 * OUTPUT_PER_MTOK / 1e6), "the one sent counts its worst case, alone"


async def test_a_partial_answer_past_max_tokens_on_a_deadline_counts_what_it_streamed(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("ollama", LONG)
    settings = priced(fake, tmp_path, budgets={"daily_usd": 5})
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:
            answer = await client.call_tool(
                "ask_ai", {"ai": "ollama", "prompt": "hi", "max_tokens": 5, "deadline_s": 2}
            )
    assert (answer.structured_content or {}).get("partial") is True, text_of(answer)
    [(state, outcome, cost, estimate)] = await rows(store_url(settings), "state", "outcome", "cost_usd", "estimate_usd")
    [(streamed, note)] = await rows(store_url(settings), "streamed_tokens", "note")
    assert (state, outcome, cost) == ("settled", "partial", None), "the provider never said what it cost"
    assert streamed > 5 and estimate == pytest.approx(streamed * OUTPUT_PER_MTOK / 1e6), "what streamed, priced"
    assert note == f"the provider streamed {streamed:,} output tokens, over max_tokens 5: booked as streamed"
