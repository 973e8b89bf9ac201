"""`name:model` picks the model for one call, wherever an AI is named: any id the provider accepts
reaches it as written, results name the model picked, and one AI may be asked with several models."""

from __future__ import annotations

import pytest
from mcp import Client

from callers.app import split_name
from core.config.settings import Settings
from core.errors import InvalidRequest
from serve.main import build_server
from tests.fakes import FakeProvider

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grok", ("grok", None)),
        (" GROK ", ("grok", None)),
        ("OpenAI:gpt-5-mini", ("openai", "gpt-5-mini")),
        ("openrouter:meta-llama/Llama-3.3-70B-Instruct:free", ("openrouter", "meta-llama/Llama-3.3-70B-Instruct:free")),
        ("gemini: gemini-2.5-pro ", ("gemini", "gemini-2.5-pro")),
    ],
)
def test_a_name_splits_into_the_ai_and_the_model_it_picks(text: str, expected: tuple[str, str | None]) -> None:
    assert split_name(text) == expected


@pytest.mark.parametrize("text", ["grok:", "grok:  ", "grok:two words", "grok:tab\there", "grok:" + "m" * 201])
def test_a_colon_without_a_model_id_is_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(
        InvalidRequest, match=r'the model\'s id, as the provider spells it, with no spaces \(e\.g\. "grok:'
    ):
        split_name(text)


async def test_ask_ai_sends_the_picked_model_and_names_it(fake: FakeProvider, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "OpenAI:gpt-5-mini", "prompt": "hello"})
        default = await client.call_tool("ask_ai", {"ai": "openai", "prompt": "hello"})
    assert not result.is_error
    assert [r.body["model"] for r in fake.requests_for("openai")] == ["gpt-5-mini", "gpt-4.1-mini"]
    assert (result.structured_content or {})["ai"] == "openai:gpt-5-mini"
    assert (result.structured_content or {})["model"] == "gpt-5-mini"
    assert (default.structured_content or {})["ai"] == "openai"


async def test_one_fan_out_can_ask_one_ai_with_several_models(fake: FakeProvider, settings: Settings) -> None:
    ais = ["gemini:gemini-2.5-pro", "grok", "grok:grok-4", "GROK", "grok:grok-4"]
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "compare", "ais": ais})
    results = (result.structured_content or {})["results"]
    assert [(r["ai"], r["model"], r["ok"]) for r in results] == [
        ("gemini:gemini-2.5-pro", "gemini-2.5-pro", True),
        ("grok", "grok-3-mini", True),
        ("grok:grok-4", "grok-4", True),
    ]
    assert [r.model for r in fake.requests_for("gemini")] == ["gemini-2.5-pro"]  # the model in Gemini's URL
    assert sorted(r.body["model"] for r in fake.requests_for("grok")) == ["grok-3-mini", "grok-4"]


async def test_a_debate_between_two_models_of_one_ai(fake: FakeProvider, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "ai_debate", {"topic": "tabs or spaces", "ais": ["grok", "grok:grok-4"], "rounds": 2}
        )
    assert not result.is_error, result.content
    rounds = (result.structured_content or {})["rounds"]
    assert [[r["ai"] for r in played["results"]] for played in rounds] == [["grok", "grok:grok-4"]] * 2
    assert sorted({r.body["model"] for r in fake.requests_for("grok")}) == ["grok-3-mini", "grok-4"]


async def test_a_model_the_provider_does_not_know_is_its_404_with_the_fix(
    fake: FakeProvider, settings: Settings
) -> None:
    fake.behave("grok", status=404)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok:grok-99", "prompt": "hi"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "grok (grok-99) (HTTP 404)" in text and "check the model 'grok-99'" in text
