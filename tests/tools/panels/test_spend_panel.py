"""The spend panel in Chromium, fed by a real server_status call (after a real ask_all_ais, with caps) through
the mcp client: caps with what is left, each AI's health; the 30-day history from the result's `_meta`
when there is one, "no history" when there is none; callers in team mode."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from core.config.settings import load_settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS, FAST_RETRIES, credentials_for, write_credentials
from tests.tools.panels.browser import chromium, show
from tools.spending import dollars

pytestmark = pytest.mark.anyio
HISTORY = "junior/spend-history"


def history(days: int = 30) -> dict[str, Any]:
    """A history of the shape the server sends in `_meta` (see spend.js): two series over `days` days."""
    today = datetime.datetime.now(datetime.UTC).date()
    daily = []
    for back in range(days):
        day = (today - datetime.timedelta(days=back)).isoformat()
        line = {"calls": 3, "errors": back % 2, "unknown_cost_calls": 0, "unknown_cost_usd": 0.0}
        daily.append({"day": day, "ai": "gemini", "model": "gemini-2.5-flash", "cost_usd": 0.01 * (back % 7)} | line)
        if back % 3 == 0:
            daily.append({"day": day, "ai": "ollama", "model": None, "cost_usd": 0.02} | line)
    return {"days": days, "daily": daily, "callers_daily": []}


async def status(fake: FakeProvider, tmp_path: Path) -> dict[str, Any]:
    """server_status's structured content after one ask_all_ais, with a daily cap and one per AI."""
    budgets = {"daily_usd": 5, "per_ai": {"ollama": {"daily_usd": 0.001}}}
    body = credentials_for(fake) | FAST_RETRIES | {"budgets": budgets}
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    fake.behave("grok", status=401, text="bad key")
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(60):
            await client.call_tool("ask_all_ais", {"prompt": "Which queue?"})
            result = await client.call_tool("server_status", {})
    assert result.structured_content is not None
    return result.structured_content


async def test_the_spend_panel_shows_caps_health_and_the_30_day_history(fake: FakeProvider, tmp_path: Path) -> None:
    data = await status(fake, tmp_path)
    caps = data["spend"]["caps"]
    assert len(caps) == 2 and all(ai["metrics"] for ai in data["ais"])
    async with chromium() as browser:
        shown = await show(browser, "spend", data, {"toolName": "server_status", "resultMeta": {HISTORY: history()}})
        with anyio.fail_after(60):
            assert await shown.attributes("#caps .cap", "data-cap") == [cap["name"] for cap in caps]
            assert await shown.texts("#caps .cap .left") == [f"left: {dollars(cap['left_usd'])}" for cap in caps]
            assert await shown.attributes("#health tr.ai-health", "data-ai") == list(ALL_AIS)
            series = [f"{line['ai']}:{line['model']}" for line in data["spend"]["all_time"]]
            assert series and await shown.attributes("#totals tr.total-line", "data-series") == series
            breakers = [ai["metrics"]["breaker_state"] for ai in data["ais"]]
            assert await shown.texts("#health .breaker") == breakers
            limits = [str(ai["metrics"]["concurrency_limit"]) for ai in data["ais"]]
            assert await shown.texts("#health .limit") == limits
            p95 = [ai["metrics"]["latency_p95_s"] for ai in data["ais"]]
            assert await shown.texts("#health .p95") == [f"{s:.2f} s" if s is not None else "-" for s in p95]
            days = await shown.attributes("#history .chart .day", "data-day")
            today = datetime.datetime.now(datetime.UTC).date()
            assert days == [(today - datetime.timedelta(days=back)).isoformat() for back in range(29, -1, -1)]
            assert await shown.attributes("#history tr.series", "data-series") == [
                "gemini:gemini-2.5-flash",
                "ollama:?",
            ]
            segments = await shown.page.locator("#history .chart .seg").count()
            assert segments == sum(1 for line in history()["daily"] if line["cost_usd"] > 0)
            assert not await shown.page.locator("#callers").count(), "over stdio there is one person: no split"
            await shown.screenshots("spend")


async def test_without_history_the_panel_says_so_and_in_team_mode_shows_each_caller(
    fake: FakeProvider, tmp_path: Path
) -> None:
    data = await status(fake, tmp_path)
    # Team mode's split, as a server behind bearer tokens reports it (stdio has no named caller).
    data["spend"]["callers_today"] = [
        {"caller": "ana", "calls": 4, "cost_usd": 0.5},
        {"caller": None, "calls": 1, "cost_usd": 0.1},
    ]
    data["spend"]["callers_last_7_days"] = [{"caller": "ana", "calls": 9, "cost_usd": 1.25}]
    async with chromium() as browser:
        shown = await show(browser, "spend", data, width=400)
        with anyio.fail_after(60):
            assert await shown.texts("#history .no-history") == ["No history: this server sent no daily spend."]
            assert await shown.texts('#callers [data-span="today"] tr.caller th') == ["ana", "(stdio)"]
            assert await shown.texts('#callers [data-span="last_7_days"] tr.caller td') == ["$1.25", "9"]
            width = await shown.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 400
            await shown.screenshots("spend-team", widths=(400,))
