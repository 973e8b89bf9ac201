"""The panels' bridge (tools/panels/static/bridge.js) in headless Chromium, hosted by the official AppBridge
(tests/browser.py), with results of real tool calls against the fake provider.

Until the real panels' rendering lands, a test-only panel (panel.js beside this file, textContent only) is run
after the panel's own script, so these tests check the bridge, the assembly and the harness; the hostile
cases are parametrized over the panels so that they can be pointed at the real ones (drop `TEST_PANEL`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
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

pytestmark = pytest.mark.anyio

TEST_PANEL = (Path(__file__).parent / "panel.js").read_text()
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
    return with_script(html, TEST_PANEL), listed, result


async def seen(panel: Any) -> dict[str, Any]:
    return dict(json.loads(await panel.locator("#seen").text_content()))


async def test_the_app_bridge_hands_a_tool_result_to_the_panel(
    fake: FakeProvider, client: Client, host: BrowserHost
) -> None:
    arguments = {"prompt": "Which database?"}
    html, tool, result = await called(client, "ask_all_ais", arguments)
    panel = await host.show(html, tool, arguments, result)
    assert await panel.locator(".column").count() == len(ALL_AIS)
    assert await panel.locator(".column h2").all_text_contents() == [
        r["ai"] for r in result.structured_content["results"]
    ]  # type: ignore[index]
    shown = await seen(panel)
    assert shown["toolName"] == "ask_all_ais" and shown["toolInput"] == arguments and shown["theme"] == "light"
    assert shown["cost"] == result.structured_content["total_cost_usd"]  # type: ignore[index]
    assert (await host.sizes())[-1]["height"] > 0, "the panel said how tall it is"
    await host.screenshot("bridge-answers")
    assert await host.canary() is None and host.outside_requests == []


async def test_a_results_meta_reaches_the_panel_through_the_app_bridge(client: Client, host: BrowserHost) -> None:
    html, tool, result = await called(client, "server_status", {})
    with_meta = result.model_copy(update={"meta": {"junior": {"history": [1, 2, 3]}}})
    panel = await host.show(html, tool, {}, with_meta)
    assert (await seen(panel))["resultMeta"] == {"junior": {"history": [1, 2, 3]}}


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

    await host.page.set_content(
        with_script(panel_html("spend", {"results": [{"ai": "<i>x</i>", "ok": True, "text": "t"}]}), TEST_PANEL)
    )
    await host.page.wait_for_selector("#app[data-rendered='1']", state="attached")
    assert await host.page.locator(".column h2").all_text_contents() == ["<i>x</i>"]


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
    assert (await seen(panel))["toolName"] == tool_name
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
    unsafe = "function renderPanel(root, s) { root.innerHTML = s.results.map(r => r.text).join(''); }"
    async with host.page.expect_request("http://127.0.0.1:9/x.png"):
        panel = await host.show(with_script(html, unsafe), tool, {}, result, csp=False)
    with anyio.fail_after(10):
        await panel.frame.wait_for_function(f"window.{CANARY} === 'img'")
    assert await host.canary() == "img"
    assert host.outside_requests == ["http://127.0.0.1:9/x.png"]
