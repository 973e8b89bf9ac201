"""Cost and caps through the real call path and the MCP client: every answer says what it cost (known,
unknown, configured, reported by the provider), the ledger keeps one row per provider call, 100 calls at
once under a cap that affords 37 get 37 answers, a fan-out skips the AIs it cannot afford, and with caps
set and the store down, calls are refused rather than spend blind."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult
from sqlalchemy import select

from ai.request import Request, Usage
from callers import Junior, ask, ask_sync
from core.config.settings import Settings, load_settings
from core.errors import AIUnavailable, BudgetExceeded
from core.money.prices import price_of
from core.store.database import Store
from core.store.schema import ledger
from core.store.url import store_url
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, SERVER, answer_of, credentials_for, write_credentials
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio
DEADLINE_S = 30
# ollama, priced by the configuration: nothing per input token, $0.01 per 1,000 output tokens.
CENT_PER_THOUSAND = {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def settings_with(tmp_path: Path, fake: FakeProvider, names: tuple[str, ...], **server: Any) -> Settings:
    body = credentials_for(fake, names, ollama={"prices": CENT_PER_THOUSAND}) | FAST_RETRIES | server
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


async def test_every_answer_says_what_it_cost_and_the_call_its_total(fake: FakeProvider, tmp_path: Path) -> None:
    fake.behave("openai", usage=(1_000, 500, 200, 0))  # priced by genai-prices
    fake.behave("openrouter", usage=(10, 5, 0, 0), cost=0.0123)  # the provider says what it cost
    fake.behave("ollama", usage=(10, 2_000, 0, 0))  # priced by the configuration
    fake.behave("grok", usage=(10, 5, 0, 0), text="x")
    settings = settings_with(tmp_path, fake, ("openai", "openrouter", "ollama", "grok"))
    grok = settings.ais["grok"].model_copy(update={"model": "no-such-model-anywhere"})  # nobody can price it
    settings = settings.model_copy(update={"ais": {**settings.ais, "grok": grok}})
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(DEADLINE_S):
            one = await client.call_tool("ask_ai", {"ai": "openai", "prompt": "hi"})
            many = await client.call_tool("ask_all_ais", {"prompt": "hi"})
    expected = price_of("openai", "gpt-4.1-mini", Usage(1_000, 500, 200, 0)).usd
    assert expected is not None and expected > 0
    alone = one.structured_content or {}
    assert (alone["cost_usd"], alone["cost_source"], alone["cached_tokens"]) == (
        pytest.approx(expected),
        "genai-prices",
        200,
    )
    assert text_of(one).split("\n---\n")[-1].startswith("gpt-4.1-mini · 1,000 in (200 cached) / 500 out · $")
    results = {r["ai"]: r for r in (many.structured_content or {})["results"]}
    assert results["openrouter"]["cost_usd"] == 0.0123 and results["openrouter"]["cost_source"] == "provider"
    assert results["ollama"]["cost_usd"] == pytest.approx(0.02) and results["ollama"]["cost_source"] == "override"
    assert results["grok"]["cost_usd"] is None, "a model nobody can price costs unknown, never $0"
    total = (many.structured_content or {})["total_cost_usd"]
    assert total == pytest.approx(expected + 0.0123 + 0.02)
    assert "no-such-model-anywhere · 10 in / 5 out · cost unknown" in text_of(many)
    assert "(unknown for grok)" in text_of(many).split("\n---\n")[-1]


async def test_each_provider_call_is_a_row_in_the_ledger_and_status_shows_todays_spend(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("ollama", usage=(10, 3_000, 0, 0))
    fake.behave("grok", status=500)
    settings = settings_with(tmp_path, fake, ("ollama", "grok"))
    async with Client(build_server(settings)) as client:
        asked = await client.call_tool("ask_all_ais", {"prompt": "hi"})
        status = await client.call_tool("server_status", {})
    async with Store(store_url(settings)) as store:
        rows = {row.ai: row for row in await store.ledger.spend(since=0)}
        async with store.read() as conn:
            written = (await conn.execute(select(ledger.c.tool, ledger.c.thread_id, ledger.c.outcome))).all()
    thread = (asked.structured_content or {})["continuation_id"]
    assert sorted(map(tuple, written)) == [("ask_all_ais", thread, "ok"), ("ask_all_ais", thread, "server_error")]
    assert (rows["ollama"].calls, rows["ollama"].cost_usd) == (1, pytest.approx(0.03))
    assert (rows["grok"].calls, rows["grok"].errors) == (1, 1)
    today = {line["ai"]: line for line in (status.structured_content or {})["spend"]["today"]}
    assert today["ollama"]["cost_usd"] == pytest.approx(0.03)
    assert "spent today (UTC): $0.030 — " in text_of(status)
    assert "ollama:llama3.2 $0.030 (1 call)" in text_of(status) and "grok:grok-3-mini $0 (1 call, 1 failed)" in text_of(
        status
    )


async def test_a_hundred_calls_at_once_under_a_cap_that_affords_37_get_37_answers(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("ollama", latency=0.3, usage=(1, 1_000, 0, 0))  # each call costs exactly what it reserves
    settings = settings_with(tmp_path, fake, ("ollama",), budgets={"daily_usd": 0.37})
    outcomes: list[str] = []

    async def call() -> None:
        try:
            await ask(app, "ollama", Request("hi", max_tokens=1_000, temperature=None))
            outcomes.append("answered")
        except BudgetExceeded as error:
            assert error.cap == "daily" and error.limit_usd == 0.37
            outcomes.append("budget_exceeded")

    with anyio.fail_after(DEADLINE_S):
        async with Junior.build(settings) as app:
            async with anyio.create_task_group() as group:
                for _ in range(100):
                    group.start_soon(call)
        async with Store(store_url(settings)) as store:  # the ledger, once the application wrote it all
            [row] = await store.ledger.spend(since=0)
    assert (outcomes.count("answered"), outcomes.count("budget_exceeded")) == (37, 63)
    assert row.calls == 37 and row.cost_usd <= 0.37 + 1e-9


async def test_a_fan_out_skips_the_ais_it_cannot_afford_and_answers_with_the_rest(
    fake: FakeProvider, tmp_path: Path
) -> None:
    budgets = {"per_ai": {"ollama": {"daily_usd": 0.001}}}
    settings = settings_with(tmp_path, fake, ("ollama", "grok"), budgets=budgets)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "hi", "max_tokens": 1_000})
    results = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert not result.is_error and results["grok"]["ok"]
    assert results["ollama"]["error_kind"] == "budget_exceeded"
    assert "ollama's daily cap of $0.001 reached" in results["ollama"]["error"]
    assert fake.requests_for("ollama") == [], "nothing was sent to the AI it could not afford"


async def test_with_caps_set_and_the_store_down_calls_are_refused_not_spent_blind(
    fake: FakeProvider, tmp_path: Path
) -> None:
    (tmp_path / "junior.db").mkdir()
    settings = settings_with(tmp_path, fake, ("ollama",), budgets={"daily_usd": 5})
    settings = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'junior.db'}"})
    async with Junior.build(settings) as app:
        with pytest.raises(AIUnavailable, match=r"spending caps are set and cannot be checked.*is a directory"):
            await ask(app, "ollama", Request("hi"))
    assert fake.requests_for("ollama") == []


async def test_a_call_over_the_per_call_cap_is_refused_before_sending(fake: FakeProvider, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, fake, ("ollama",), max_usd_per_call=0.005)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_tokens": 1_000})
    assert result.is_error and (result.structured_content or {})["error_kind"] == "budget_exceeded"
    assert answer_of(text_of(result)).startswith("per-call cap of $0.005 exceeded: this call may cost up to $0.01")
    assert fake.requests_for("ollama") == []


async def test_two_server_processes_sharing_postgresql_cannot_overspend_one_cap_together(
    fake: FakeProvider, tmp_path: Path, postgres: PostgresServer
) -> None:
    fake.behave("ollama", latency=0.5, usage=(1, 1_000, 0, 0))  # every call in flight at once costs $0.01
    body = credentials_for(fake, ("ollama",), ollama={"prices": CENT_PER_THOUSAND}) | FAST_RETRIES
    body |= {"budgets": {"daily_usd": 0.37}, "database_url": postgres.url(postgres.create_database())}
    path = write_credentials(tmp_path / "credentials.json", body)
    env = {**os.environ, "JUNIOR_AI_CREDENTIALS": str(path)}
    kinds: list[str | None] = []

    async def server_process() -> None:
        async with Client(StdioServerParameters(command=sys.executable, args=[SERVER], env=env)) as client:

            async def ask() -> None:
                result = await client.call_tool("ask_ai", {"ai": "ollama", "prompt": "hi", "max_tokens": 1_000})
                kinds.append((result.structured_content or {}).get("error_kind"))

            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(ask)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(server_process)
            group.start_soon(server_process)
    async with Store(str(body["database_url"])) as store:
        [row] = await store.ledger.spend(since=0)
    assert (kinds.count(None), kinds.count("budget_exceeded")) == (37, 63)
    assert row.calls == 37 and row.cost_usd <= 0.37 + 1e-9


async def test_the_synchronous_call_is_refused_while_caps_are_set_and_answers_without_them(
    fake: FakeProvider, tmp_path: Path
) -> None:
    capped = settings_with(tmp_path, fake, ("ollama",), budgets={"daily_usd": 5})
    free = settings_with(tmp_path, fake, ("ollama",))
    with pytest.raises(AIUnavailable, match="cannot be asked synchronously while spending caps are set"):
        await anyio.to_thread.run_sync(ask_sync, Junior.build(capped), "ollama", Request("hi"))
    app = Junior.build(free)
    answer = await anyio.to_thread.run_sync(ask_sync, app, "ollama", Request("hi"))
    await app.aclose()
    assert answer.text.endswith("] hi") and fake.requests_for("ollama")
