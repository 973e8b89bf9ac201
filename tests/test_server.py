"""The MCP server through the real mcp client, in memory."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client

from callers import Junior
from collab.modes import MODES
from core.config.settings import Settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS, COMPACT_TOOLS, key_for

pytestmark = pytest.mark.anyio


async def test_tools_are_listed_with_titles_annotations_and_constraints(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == COMPACT_TOOLS
    assert all(tool.title and tool.description for tool in tools.values())
    ask = tools["ask_ai"]
    assert ask.annotations is not None and ask.annotations.read_only_hint and ask.annotations.open_world_hint
    properties = ask.input_schema["properties"]
    assert properties["temperature"] == {
        "maximum": 2,
        "minimum": 0,
        "type": "number",
        "description": "0-2; default: the mode's.",
    }, "an optional parameter is shown as its type, without a title or a null alternative"
    assert "title" not in ask.input_schema
    assert "gemini, openai, grok, deepseek, openrouter, ollama" in properties["ai"]["description"]
    assert ask.input_schema["required"] == ["ai", "prompt"]


async def test_ask_ai_answers_with_text_and_structured_content(fake: FakeProvider, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "Review this", "context": "def f(): pass"})
    assert not result.is_error
    assert result.content[0].text.startswith("[grok:grok-3-mini] Review this")  # type: ignore[union-attr]
    assert "def f(): pass" in fake.requests_for("grok")[0].prompt
    structured = result.structured_content or {}
    assert (structured["ai"], structured["ok"], structured["model"]) == ("grok", True, "grok-3-mini")


async def test_ask_all_ais_names_failures_and_keeps_the_answers(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("openrouter", status=503)
    fake.behave("gemini", latency=10)
    slow = settings.model_copy(
        update={"ais": {**settings.ais, "gemini": settings.ais["gemini"].model_copy(update={"timeout": 0.5})}}
    )
    async with Client(build_server(slow)) as client:
        with anyio.fail_after(5):
            result = await client.call_tool("ask_all_ais", {"prompt": "Which is better?"})
    assert not result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "## openrouter (openrouter/auto) failed: server_error" in text
    assert "## gemini (gemini-2.5-flash) failed: timeout" in text
    assert "[deepseek:deepseek-chat] Which is better?" in text
    structured = result.structured_content or {}
    assert (structured["succeeded"], structured["failed"]) == (4, 2)
    assert [r["ai"] for r in structured["results"]] == list(ALL_AIS)


async def test_ask_all_ais_with_a_subset(fake: FakeProvider, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "hi", "ais": ["ollama", "grok"]})
    assert [r["ai"] for r in (result.structured_content or {})["results"]] == ["ollama", "grok"]
    assert {r.ai for r in fake.requests} == {"ollama", "grok"}


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("ask_ai", {"ai": "claude", "prompt": "hi"}, "unknown AI 'claude'; configured: deepseek, gemini, grok"),
        ("ask_all_ais", {"prompt": "hi", "ais": ["grok", "bard"]}, "unknown AI 'bard'"),
        ("ask_ai", {"ai": "grok", "prompt": ""}, "prompt\n  String should have at least 1 character"),
        ("ask_ai", {"ai": "grok", "prompt": "hi", "temperature": 3}, "less than or equal to 2"),
        ("ask_ai", {"ai": "grok", "prompt": "hi", "max_tokens": 0}, "greater than or equal to 1"),
        ("ask_all_ais", {"prompt": "hi", "ais": []}, "at least 1 item"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(
    settings: Settings, tool: str, arguments: dict[str, object], message: str
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert message in result.content[0].text  # type: ignore[union-attr]


async def test_a_provider_error_is_a_tool_error_naming_the_ai(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("deepseek", status=401)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "deepseek", "prompt": "hi"})
    assert result.is_error
    assert "deepseek (deepseek-chat) (HTTP 401): fake provider error 401" in result.content[0].text  # type: ignore[union-attr]


async def test_keyless_start_lists_tools_and_answers_with_guidance() -> None:
    async with Client(build_server(Settings())) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == COMPACT_TOOLS
        calls = [
            ("ask_ai", {"ai": "gemini", "prompt": "hi"}),
            ("ask_all_ais", {"prompt": "hi"}),
            ("ai_debate", {"topic": "hi"}),
            ("collaborative_solve", {"problem": "hi"}),
            ("ai_consensus", {"question": "hi"}),
        ]
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            assert "no AI is configured. Set an API key" in result.content[0].text  # type: ignore[union-attr]
        status = await client.call_tool("server_status", {})
    assert "usable AIs: none" in status.content[0].text  # type: ignore[union-attr]


async def test_server_status_shows_masked_keys_only(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("server_status", {})
    payload = json.dumps(result.model_dump())
    for name in ALL_AIS:
        assert key_for(name) not in payload
    ais = {ai["name"]: ai for ai in (result.structured_content or {})["ais"]}
    assert ais["grok"]["key"] == "…6789" and ais["grok"]["async_client"] and ais["grok"]["sync_client"]
    assert ais["ollama"]["key"] == "none"


async def test_every_client_is_closed_when_the_connection_ends(fake: FakeProvider, settings: Settings) -> None:
    built: list[Junior] = []

    def build_app(settings: Settings) -> Junior:
        built.append(Junior.build(settings))
        return built[-1]

    async with Client(build_server(settings, build_app=build_app)) as client:
        await client.call_tool("ask_all_ais", {"prompt": "open connections"})
        [app] = built
        clients = [*app.pool.async_clients.values(), *app.pool.sync_clients.values()]
    assert len(clients) == 2 * len(ALL_AIS)
    assert all(c.closed for c in clients) and app.closed


async def test_server_status_reports_metrics_and_breaker_state(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("grok", status=503)
    async with Client(build_server(settings)) as client:
        await client.call_tool("ask_ai", {"ai": "deepseek", "prompt": "one two"})
        await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"})
        result = await client.call_tool("server_status", {})
    ais = {ai["name"]: ai for ai in (result.structured_content or {})["ais"]}
    deepseek, grok = ais["deepseek"]["metrics"], ais["grok"]["metrics"]
    assert (deepseek["calls"], deepseek["successes"], deepseek["input_tokens"]) == (
        1,
        1,
        2 + len(MODES["general"].system.split()),
    )
    assert deepseek["latency_p50_s"] is not None and deepseek["breaker_state"] == "closed"
    assert (grok["calls"], grok["failures"], grok["retries"]) == (1, {"server_error": 1}, 2)
    text = result.content[0].text  # type: ignore[union-attr]
    assert "calls 1 (ok 0; failed: server_error 1), retries 2" in text
