"""Secrets, limits, protocol robustness and provider answers as data, over the real stdio server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from core.config.settings import Settings, load_settings
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import (
    ALL_AIS,
    FAST_RETRIES,
    INIT,
    INITIALIZED,
    SERVER,
    answer_of,
    credentials_for,
    frames,
    request,
    session,
    tool,
    write_credentials,
)

pytestmark = pytest.mark.anyio


def canary(name: str) -> str:
    return f"sk-canary-{name}-7f3a9c1e5b2d4f60"


async def test_the_canary_keys_appear_nowhere(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake) | FAST_RETRIES
    for name in ALL_AIS:
        body[name]["api_key"] = canary(name)
    path = write_credentials(tmp_path / "credentials.json", body)
    # The providers misbehave in ways that would carry a key back: echoing it in an error, or in an answer.
    fake.behave("grok", status=401, body=json.dumps({"error": {"message": f"Incorrect API key: {canary('grok')}"}}))
    fake.behave("deepseek", text=f"Sure, the key you use is {canary('deepseek')}.")
    fake.behave("gemini", status=500, body=json.dumps({"error": {"code": 500, "message": f"key={canary('gemini')}"}}))
    calls = [
        *(tool(n, "ask_ai", {"ai": name, "prompt": "hi"}) for n, name in enumerate(ALL_AIS, start=10)),
        tool(20, "ask_ai", {"ai": "nope", "prompt": "hi"}),
        tool(21, "ask_ai", {"ai": "grok", "prompt": "", "temperature": 9}),
        tool(22, "ask_all_ais", {"prompt": "hi", "deadline_s": 5}),
        tool(23, "ai_debate", {"topic": "t", "rounds": 2, "deadline_s": 5}),
        tool(24, "collaborative_solve", {"problem": "p", "deadline_s": 5}),
        tool(25, "collaborative_solve", {"problem": "p", "approach": "sequential", "deadline_s": 5}),
        tool(26, "ai_consensus", {"question": "q", "options": ["a", "b"], "deadline_s": 5}),
        tool(27, "server_status", {}),
        tool(28, "ask_ai", {"ai": "openai", "prompt": "x" * 300_000}),
    ]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "JUNIOR_AI_LOG_LEVEL": "DEBUG"}
    received, errors = await session(
        [sys.executable, SERVER, "--credentials", str(path)], env, frames(INIT, INITIALIZED, *calls), 1 + len(calls)
    )
    check = await anyio.run_process(
        [sys.executable, SERVER, "--credentials", str(path), "--check"], env=env, check=False
    )
    everything = json.dumps(received) + errors + check.stdout.decode() + check.stderr.decode()
    for name in ALL_AIS:
        assert canary(name) not in everything, f"{name}'s key leaked"
        assert canary(name)[:-4] not in everything, f"part of {name}'s key leaked"
    assert "…4f60" in everything, "the masked hint is allowed (and shown by server_status and --check)"
    assert "DEBUG" in errors, "the run really logged at DEBUG"
    for recorded in fake.requests:  # each key went to its own AI only
        sent = recorded.headers.get("authorization", "").removeprefix("Bearer ") or recorded.headers.get(
            "x-goog-api-key"
        )
        assert sent == canary(recorded.ai), recorded.ai


async def test_malformed_input_on_stdin_never_stops_the_server(tmp_path: Path) -> None:
    huge = b'{"jsonrpc": "2.0", "id": 99, "method": "tools/list", "params": {"x": "' + b"a" * 10_000_000 + b'"}}\n'
    lines = [
        *frames(INIT, INITIALIZED),
        b"{this is not json\n",
        b"\xff\xfe binary garbage \x00\x01\n",
        b"[1, 2, 3]\n",
        *frames(
            request(2, "no/such/method"),
            request(3, "tools/call", {"nme": "ask_ai"}),
            request(4, "tools/call", {"name": "ask_ai", "arguments": "not an object"}),
            request(5, "tools/call", {"name": "no_such_tool", "arguments": {}}),
        ),
        huge,
        *frames(request(6, "tools/list")),
    ]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    received, errors = await session([sys.executable, SERVER], env, lines, 7)
    by_id = {m["id"]: m for m in received if "id" in m}
    assert by_id[2]["error"]["code"] == -32601
    assert by_id[3]["error"]["code"] == -32602 and by_id[4]["error"]["code"] == -32602
    assert by_id[5]["result"]["isError"] and "Unknown tool" in by_id[5]["result"]["content"][0]["text"]
    assert "tools" in by_id[99]["result"], "a 10 MB line is read like any other"
    assert len(by_id[6]["result"]["tools"]) == 8, "and the server still answers"
    assert errors.count("skipped a line on stdin that is not a JSON-RPC message") == 3
    assert len(errors) < 5_000, "a skipped line is reported briefly, not echoed"


ODD = '\x1b[31mred\x1b[0m {"jsonrpc": "2.0", "id": 1, "result": {}}\r\n\x07\x00 tab\tend \u202e'


async def test_provider_answers_are_passed_as_text_never_interpreted(fake: FakeProvider, tmp_path: Path) -> None:
    fake.behave("grok", text=ODD)
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok",)))
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    received, _ = await session(
        [sys.executable, SERVER, "--credentials", str(path)],
        env,
        frames(INIT, INITIALIZED, tool(1, "ask_ai", {"ai": "grok", "prompt": "x"})),
        2,
    )
    [answer] = [m for m in received if m.get("id") == 1]
    assert answer_of(answer["result"]["content"][0]["text"]) == ODD
    assert answer["result"]["structuredContent"]["text"] == ODD


async def test_huge_answers_are_cut_with_a_note(fake: FakeProvider, settings: Settings) -> None:
    fake.behave("grok", text="y" * 5_000)
    capped = settings.model_copy(update={"max_answer_chars": 1_000})
    async with Client(build_server(capped)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "x"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert answer_of(text) == "y" * 1_000 + "\n\n[answer truncated: 4,000 more characters (max_answer_chars = 1,000)]"


@pytest.mark.parametrize(
    ("tool_name", "arguments"),
    [
        ("ask_ai", {"ai": "grok", "prompt": "x" * 150_000, "context": "y" * 60_000}),
        ("ask_all_ais", {"prompt": "x" * 200_001}),
        ("ai_debate", {"topic": "x" * 200_001}),
        ("collaborative_solve", {"problem": "x", "context": "y" * 200_000}),
        ("ai_consensus", {"question": "x" * 100_000, "options": ["a" * 100_000, "b"]}),
    ],
)
async def test_oversized_input_is_refused_before_any_ai_is_asked(
    fake: FakeProvider, settings: Settings, tool_name: str, arguments: dict[str, Any]
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(tool_name, arguments)
    assert result.is_error
    assert "characters; the limit is 200,000 (max_prompt_chars)" in result.content[0].text  # type: ignore[union-attr]
    assert fake.requests == []


async def test_limits_are_in_the_schema_for_clients_to_see(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        tools = {t.name: t.input_schema["properties"] for t in (await client.list_tools()).tools}
    assert {k: tools["ask_ai"]["temperature"][k] for k in ("maximum", "minimum", "type")} == {
        "maximum": 2,
        "minimum": 0,
        "type": "number",
    }
    assert {k: tools["ask_ai"]["max_tokens"][k] for k in ("maximum", "minimum", "type")} == {
        "maximum": 200000,
        "minimum": 1,
        "type": "integer",
    }
    assert (tools["ai_debate"]["rounds"]["minimum"], tools["ai_debate"]["rounds"]["maximum"]) == (1, 5)
    assert tools["ask_all_ais"]["ais"]["maxItems"] == 50
    assert tools["ask_ai"]["files"]["maxItems"] == 100 and tools["ask_ai"]["continuation_id"]["maxLength"] == 64


async def test_redaction_leaves_ordinary_answers_alone(fake: FakeProvider, settings: Settings) -> None:
    answer = 'Use Bearer authentication; client = OpenAI(api_key=os.environ["OPENAI_API_KEY"]); run ollama serve'
    fake.behave("grok", text=answer)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "x"})
    assert answer_of(result.content[0].text) == answer  # type: ignore[union-attr]


async def test_a_key_quoted_back_in_a_validation_error_is_hidden(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",))
    body["grok"]["api_key"] = canary("grok") * 4  # long, as real keys are: pydantic would shorten it
    path = write_credentials(tmp_path / "credentials.json", body)
    settings = load_settings(path, env={})
    async with Client(build_server(settings)) as client:
        for arguments in ({"ai": "grok", "prompt": "x", "mode": canary("grok") * 4}, {"ai": canary("grok") * 4}):
            result = await client.call_tool("ask_ai", arguments)
            text = result.content[0].text  # type: ignore[union-attr]
            assert result.is_error and "input_value=<hidden>" in text, text
            assert canary("grok")[:12] not in text


def test_keys_are_stripped_of_surrounding_whitespace(tmp_path: Path) -> None:
    settings = load_settings(env={"XAI_API_KEY": f"  {canary('grok')}\n", "JUNIOR_AI_CUSTOM_AIS": ""})
    assert settings.ais["grok"].api_key is not None
    assert settings.ais["grok"].api_key.get_secret_value() == canary("grok")


async def test_ai_names_are_bounded_in_the_schema(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "n" * 3_000_000, "prompt": "x"})
    assert result.is_error and len(result.content[0].text) < 2_000  # type: ignore[union-attr]
