"""The panels' bridge (tools/panels/static/bridge.js) in headless Chromium, hosted by the official AppBridge
(tests/browser.py), with results of real tool calls against the fake provider.

The hostile cases run against the real answers and council panels (server_status's result holds no AI text);
a control panel that uses innerHTML shows that the checks can fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult, Tool

from core.config.settings import Settings
from serve.main import build_server
from tests.browser import CANARY, AppsClient, BrowserHost, browser_host, panel_for, with_script
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS
from tests.tools.panels.test_council_panel import HOST_ANSWER, QUESTION, member
from tools.spending import dollars

pytestmark = pytest.mark.anyio

CALL_TIMEOUT_S = 60.0


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings), extensions=[AppsClient()]) as client:
        yield client


@pytest.fixture
async def host() -> AsyncIterator[BrowserHost]:
    async with browser_host() as host:
        yield host


async def called(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, Tool, CallToolResult]:
    """A real call of `tool`, and the panel a host would show it in."""
    with anyio.fail_after(CALL_TIMEOUT_S):
        result = await client.call_tool(tool, arguments)
        html, listed = await panel_for(client, tool)
    return html, listed, result


async def test_the_app_bridge_hands_a_tool_result_to_the_panel(
    fake: FakeProvider, client: Client, host: BrowserHost
) -> None:
    arguments = {"prompt": "Which database?"}
    html, tool, result = await called(client, "ask_all_ais", arguments)
    panel = await host.show(html, tool, arguments, result)
    structured = result.structured_content or {}
    assert await panel.locator("article.answer").count() == len(ALL_AIS)
    assert await panel.locator("article.answer .ai-name").all_text_contents() == [
        r["ai"] for r in structured["results"]
    ]
    summary = await panel.locator(".panel-head .summary").text_content() or ""
    assert dollars(structured["total_cost_usd"]) in summary, summary
    assert (await host.sizes())[-1]["height"] > 0, "the panel said how tall it is"
    await host.screenshot("bridge-answers")
    assert await host.canary() is None and host.outside_requests == []


HISTORY = {
    "days": 30,
    "daily": [
        {
            "day": "2026-12-01",
            "ai": "gemini",
            "model": "gemini-2.5-flash",
            "calls": 3,
            "errors": 0,
            "cost_usd": 0.002,
            "unknown_cost_calls": 0,
            "unknown_cost_usd": 0.0,
        },
        {
            "day": "2026-12-02",
            "ai": "openai",
            "model": "gpt-4o",
            "calls": 1,
            "errors": 1,
            "cost_usd": 0.004,
            "unknown_cost_calls": 1,
            "unknown_cost_usd": 0.01,
        },
    ],
    "callers_daily": [],
}


async def test_a_results_meta_reaches_the_panel_through_the_app_bridge(client: Client, host: BrowserHost) -> None:
    html, tool, result = await called(client, "server_status", {})
    panel = await host.show(html, tool, {}, result.model_copy(update={"meta": None}))
    assert await panel.locator(".no-history").count() == 1, "no history without the result's _meta"
    with_meta = result.model_copy(update={"meta": {"junior/spend-history": HISTORY}})
    panel = await host.show(html, tool, {}, with_meta, renders=1)
    assert await panel.locator("#history .chart .day").count() >= 2
    assert await panel.locator(".no-history").count() == 0


async def test_the_host_theme_reaches_the_panel_and_a_change_is_followed(client: Client, host: BrowserHost) -> None:
    html, tool, result = await called(client, "server_status", {})
    panel = await host.show(html, tool, {}, result, theme="dark")
    assert await panel.evaluate("document.documentElement.dataset.theme") == "dark"
    await host.page.evaluate("window.junior.theme('light')")
    await panel.frame.wait_for_function("document.documentElement.dataset.theme === 'light'")
    assert await host.page.evaluate("window.junior.teardown()") == {}, "the panel answers the teardown request"


async def test_a_tool_error_shows_its_text(client: Client, host: BrowserHost) -> None:
    html, tool, _ = await called(client, "server_status", {})
    failed = {"content": [{"type": "text", "text": "ai_consensus failed: <b>no</b> AIs"}], "isError": True}
    panel = await host.show(html, tool, {}, failed)
    assert await panel.locator("#app").text_content() == "ai_consensus failed: <b>no</b> AIs"


async def test_a_page_with_its_data_renders_without_a_host(client: Client, host: BrowserHost) -> None:
    from tools.panels import panel_html

    _, _, result = await called(client, "server_status", {})
    data = {"structuredContent": result.structured_content, "_meta": {"junior/spend-history": HISTORY}}
    await host.page.set_content(panel_html("spend", data))
    await host.page.wait_for_selector("#app[data-rendered='1']", state="attached")
    assert await host.page.locator("#history .chart .day").count() >= 2
    assert await host.page.locator("#health tr.ai-health").count() == len(ALL_AIS)


# The tool whose result each panel shows (the council panel: a council).
SHOWN = {
    "answers": ("ask_all_ais", {"prompt": "Which database for a small web app?"}),
    "council": ("ai_consensus", {"question": "Which database for a small web app?", "method": "council"}),
    "spend": ("server_status", {}),
}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("panel_name", SHOWN)
async def test_each_panel_shows_its_tools_result_at_400_px(
    client: Client, host: BrowserHost, panel_name: str, theme: str
) -> None:
    tool_name, arguments = SHOWN[panel_name]
    html, tool, result = await called(client, tool_name, arguments)
    assert (tool.meta or {})["ui"]["resourceUri"] == f"ui://junior/{panel_name}"
    panel = await host.show(html, tool, arguments, result, theme=theme)
    assert await panel.evaluate("document.documentElement.dataset.theme") == theme
    assert await panel.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways overflow"
    await host.screenshot(f"{panel_name}-{theme}")
    assert await host.canary() is None and host.outside_requests == []


async def test_the_council_panel_shows_a_vote_with_the_answers_renderer(client: Client, host: BrowserHost) -> None:
    html, tool, council = await called(client, "ai_consensus", {"question": "q", "method": "council"})
    vote = await client.call_tool("ai_consensus", {"question": "q", "options": ["a", "b"]})
    both = with_script(
        html,
        "renderAnswers = function (root) { root.textContent = 'answers'; };"
        "function renderPanel(root) { root.textContent = 'council'; }",
    )
    for result, drawn in ((council, "council"), (vote, "answers")):
        panel = await host.show(both, tool, {}, result)
        assert await panel.locator("#app").text_content() == drawn


# -- hostile answers -----------------------------------------------------------------------------------

LINK = f"javascript:window.{CANARY}='link'"
HOSTILE = {
    "script": f"<script>window.{CANARY}='script'</script>",
    "img onerror": f'<img src="http://127.0.0.1:9/x.png" onerror="window.{CANARY}=\'img\'">',
    "javascript link": f'[click me]({LINK}) <a href="{LINK}">or me</a>',
    "1 MB of text": "word " * 200_000 + "x" * 100_000,
    "lone surrogates": "a \ud800 b \udfff c",
}
# The tool whose result each panel shows, with AI text in it (server_status's has none).
CALLS = {
    "answers": ("ask_all_ais", {"prompt": "p"}),
    "council": ("ai_consensus", {"question": "q", "method": "council"}),
}


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("panel_name", CALLS)
async def test_a_hostile_answer_runs_no_script_and_sends_nothing(
    fake: FakeProvider, client: Client, host: BrowserHost, panel_name: str, case: str
) -> None:
    fake.behave("gemini", text=HOSTILE[case])
    tool_name, arguments = CALLS[panel_name]
    html, tool, result = await called(client, tool_name, arguments)
    assert (tool.meta or {})["ui"]["resourceUri"] == f"ui://junior/{panel_name}"
    # No CSP: a request the panel made would be seen here, not blocked by the host.
    panel = await host.show(html, tool, arguments, result, csp=False)
    for link in await panel.locator("a").all():
        await link.click()
    assert await host.canary() is None
    assert host.outside_requests == []
    assert await panel.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways overflow"


async def test_the_harness_sees_a_panel_that_runs_an_answers_html(
    fake: FakeProvider, client: Client, host: BrowserHost
) -> None:
    fake.behave("gemini", text=HOSTILE["img onerror"])
    html, tool, result = await called(client, "ask_all_ais", {"prompt": "p"})
    # Both names the bridge may call (the answers panel defines renderAnswers too), replaced by the control.
    unsafe = (
        "renderAnswers = renderPanel = function (root, s) { root.innerHTML = s.results.map(r => r.text).join(''); };"
    )
    panel = await host.show(with_script(html, unsafe), tool, {}, result, csp=False)
    with anyio.fail_after(30):  # the image's error comes after its request was refused
        await panel.frame.wait_for_function(f"window.{CANARY} === 'img'", timeout=30_000)
    assert await host.canary() == "img"
    assert host.outside_requests == ["http://127.0.0.1:9/x.png"]


# -- each panel with a real result, hosted by the AppBridge -------------------------------------------------


async def test_a_council_of_six_ais_and_the_host_through_the_app_bridge(
    fake: FakeProvider, client: Client, host: BrowserHost
) -> None:
    for ai in ALL_AIS:
        fake.behave(ai, respond=member(ai))
    arguments = {"question": QUESTION, "ais": list(ALL_AIS), "method": "council", "host_answer": HOST_ANSWER}
    html, tool, result = await called(client, "ai_consensus", arguments)
    data = result.structured_content or {}
    assert len(data["answers"]) == 6 and data["scores"], data.get("notes")
    panel = await host.show(html, tool, arguments, result)
    nodes = "(nodes, name) => nodes.map((node) => node.getAttribute(name))"
    assert await panel.frame.eval_on_selector_all("#candidates .answer", nodes, "data-ai") == [*ALL_AIS, "host"]
    reviewers = await panel.frame.eval_on_selector_all("#rankings tr.ranking", nodes, "data-reviewer")
    assert reviewers == [review["ai"] for review in data["reviews"]]
    authors = await panel.frame.eval_on_selector_all("#scores .score", nodes, "data-author")
    assert authors == [score["author"] for score in data["scores"]], "scores best first, as the result ranks them"
    assert await panel.locator("#total-cost").get_attribute("data-usd") == str(data["total_cost_usd"])
    await host.screenshot("council-bridge")
    assert await host.canary() is None and host.outside_requests == []


async def test_the_spend_panel_through_the_app_bridge_totals_what_server_status_says(
    fake: FakeProvider, client: Client, host: BrowserHost
) -> None:
    with anyio.fail_after(CALL_TIMEOUT_S):
        await client.call_tool("ask_all_ais", {"prompt": "p"})
    html, tool, result = await called(client, "server_status", {})
    spend = (result.structured_content or {})["spend"]
    assert "junior/spend-history" in (result.meta or {}), "an Apps client gets the 30-day history"
    panel = await host.show(html, tool, {}, result)
    summary = await panel.locator(".panel-head .summary").text_content() or ""
    assert f"today (UTC): {dollars(sum(line['cost_usd'] for line in spend['today']))}" in summary, summary
    assert await panel.locator("#history .chart .day").count() >= 1
    assert await panel.locator("#health tr.ai-health").count() == len(ALL_AIS)
    await host.screenshot("spend-bridge")
    assert await host.canary() is None and host.outside_requests == []
