"""server_status's spend history for the spend panel (tools/spend_history.py), on SQLite and PostgreSQL: a client
that renders MCP Apps gets the last 30 days in the result's `_meta`, matching the ledger rows real calls wrote;
a client without Apps gets the very same result, without it."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import CallToolResult
from sqlalchemy import select

from core.config.settings import Settings, load_settings
from core.store.database import Store
from core.store.schema import ledger
from core.store.spend_days import day_of
from core.store.url import store_url
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials
from tests.postgres import PostgresServer
from tools.spend_history import HISTORY_DAYS, SPEND_HISTORY_META

pytestmark = pytest.mark.anyio
DEADLINE_S = 60
CENT_PER_THOUSAND = {"*": {"input_per_mtok": 0, "output_per_mtok": 10}}
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, fake: FakeProvider, tmp_path: Path) -> Settings:
    """ollama (priced by the configuration) and grok, with the store on SQLite, then on PostgreSQL."""
    body = credentials_for(fake, ("ollama", "grok"), ollama={"prices": CENT_PER_THOUSAND}) | FAST_RETRIES
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        body["database_url"] = server.url(server.create_database())
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


def wire(result: CallToolResult) -> dict[str, Any]:
    """The result as it travels: by alias, without the unset fields."""
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


async def expected_history(settings: Settings) -> list[dict[str, Any]]:
    """The ledger's rows, summed by UTC day, AI and model by hand (a settled call of unknown cost counts its
    estimate, as the caps do)."""
    async with Store(store_url(settings)) as store, store.read() as conn:
        rows = (
            await conn.execute(
                select(
                    ledger.c.at,
                    ledger.c.ai,
                    ledger.c.model,
                    ledger.c.cost_usd,
                    ledger.c.outcome,
                    ledger.c.state,
                    ledger.c.estimate_usd,
                )
            )
        ).all()
    days: dict[tuple[str, str, str | None], dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "errors": 0, "cost_usd": 0.0, "unknown_cost_calls": 0, "unknown_cost_usd": 0.0}
    )
    for at, ai, model, cost, outcome, state, estimate in rows:
        line = days[(day_of(int(at // 86_400)), ai, model)]
        line["calls"] += 1
        line["errors"] += outcome != "ok"
        line["cost_usd"] += cost or 0.0
        line["unknown_cost_calls"] += cost is None and state == "settled"
        line["unknown_cost_usd"] += estimate if cost is None and state == "settled" else 0.0
    return [{"day": day, "ai": ai, "model": model, **line} for (day, ai, model), line in sorted(days.items())]


async def test_a_client_with_apps_gets_the_ledgers_days_in_meta_and_one_without_the_same_result_without_it(
    fake: FakeProvider, settings: Settings
) -> None:
    fake.behave("ollama", usage=(10, 3_000, 0, 0))
    fake.behave("grok", status=500)
    server = build_server(settings)
    with anyio.fail_after(DEADLINE_S):
        async with Client(server) as plain:
            await plain.call_tool("ask_all_ais", {"prompt": "hi"})
            await plain.call_tool("ask_ai", {"ai": "ollama", "prompt": "again"})
        # Each connection in memory has an application of its own (its metrics start at 0); the store is shared.
        async with Client(server) as plain:
            without = await plain.call_tool("server_status", {})
            async with Client(server, extensions=[APPS]) as apps:
                with_apps = await apps.call_tool("server_status", {})
            again = await plain.call_tool("server_status", {})
    history = (with_apps.meta or {})[SPEND_HISTORY_META]
    today = day_of(int(time.time() // 86_400))
    assert history["days"] == HISTORY_DAYS
    assert history["daily"] == await expected_history(settings)
    assert {(line["day"], line["ai"], line["calls"], line["errors"]) for line in history["daily"]} == {
        (today, "grok", 1, 1),
        (today, "ollama", 2, 0),
    }
    assert [line["cost_usd"] for line in history["daily"] if line["ai"] == "ollama"] == [pytest.approx(0.06)]
    assert history["callers_daily"] == [{"day": today, "caller": None, "calls": 3, "cost_usd": pytest.approx(0.06)}]
    # The SDK's own `_meta` (serverInfo) is in all three; the history in the Apps client's alone.
    shown = wire(with_apps)
    del shown["_meta"][SPEND_HISTORY_META]
    assert wire(without) == shown == wire(again)
    assert SPEND_HISTORY_META not in (without.meta or {})
