"""Usage as providers report it, read through the real openai and google-genai SDKs from the loopback fake:
every count each API gives (cached and reasoning tokens included) and OpenRouter's own cost, exactly;
hostile figures become None, never a crash or a lost answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ai.async_client import AsyncAIClient, create_async_ai_client
from ai.request import Request, Usage
from ai.sync_client import create_ai_client
from core.errors import InvalidResponse
from tests.fakes import Behaviour, FakeProvider
from tests.fakes.answers import raw
from tests.helpers import api_of

pytestmark = pytest.mark.anyio
KEY = "sk-usage-test-key-0123456789"


async def client_for(fake: FakeProvider, ai: str) -> AsyncAIClient:
    return await create_async_ai_client(ai, KEY, f"{ai}-model", base_url=fake.base_url(ai, api_of(ai)))


async def usage_of(fake: FakeProvider, ai: str, behaviour: Behaviour) -> Usage | None:
    fake.behave(ai, behaviour)
    async with await client_for(fake, ai) as client:
        completion = await client.ask(Request("one two three"))
    assert completion.text  # whatever the usage, the answer arrives
    return completion.usage


@pytest.mark.parametrize(
    ("ai", "behaviour", "expected"),
    [
        # OpenAI's API: the cached and reasoning tokens are parts of prompt_tokens and completion_tokens.
        ("openai", Behaviour(usage=(1204, 311, 1000, 200)), Usage(1204, 311, 1000, 200)),
        ("grok", Behaviour(usage=(50, 20, None, 7)), Usage(50, 20, None, 7)),
        ("deepseek", Behaviour(usage=(50, 20, 0, 0)), Usage(50, 20, 0, 0)),
        ("openrouter", Behaviour(usage=(1204, 311, 1000, 200), cost=0.00123), Usage(1204, 311, 1000, 200, 0.00123)),
        ("openrouter", Behaviour(usage=(10, 5, None, None), cost=0), Usage(10, 5, cost_usd=0.0)),
        ("ollama", Behaviour(usage=(10, 5, None, None), cost=2), Usage(10, 5, cost_usd=2.0)),
        # Gemini counts the thinking apart from the answer (thoughtsTokenCount): both are output.
        ("gemini", Behaviour(usage=(1204, 111, 1000, 200)), Usage(1204, 311, 1000, 200)),
        ("gemini", Behaviour(usage=(1204, 311, None, None)), Usage(1204, 311)),
        ("gemini", Behaviour(usage=(1204, None, None, 200)), Usage(1204, 200, None, 200)),
        # What the fake reports unless told: the words of the prompt and of the answer.
        ("grok", Behaviour(), Usage(3, 4)),
        ("gemini", Behaviour(), Usage(3, 4)),
    ],
)
async def test_every_usage_figure_is_read_exactly_from_either_api(
    fake: FakeProvider, ai: str, behaviour: Behaviour, expected: Usage
) -> None:
    assert await usage_of(fake, ai, behaviour) == expected


def test_the_sync_client_reads_the_same_usage(fake: FakeProvider) -> None:
    fake.behave("openrouter", usage=(1204, 311, 1000, 200), cost=0.5)
    with create_ai_client("openrouter", KEY, "m", base_url=fake.base_url("openrouter")) as client:
        assert client.ask(Request("hi")).usage == Usage(1204, 311, 1000, 200, 0.5)


def openai_body(usage: str) -> str:
    """A good chat completion whose `usage` is this JSON text, written in as it is (NaN, 1e309, ...)."""
    body = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
        "usage": "USAGE",
    }
    return json.dumps(body).replace('"USAGE"', usage)


def gemini_body(usage: dict[str, Any]) -> str:
    body = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "fine"}]}, "finishReason": "STOP"}],
        "usageMetadata": usage,
        "modelVersion": "m",
    }
    return json.dumps(body)


GOOD = '"prompt_tokens": 10, "completion_tokens": 5'
HOSTILE_COSTS = ["-1", "1e309", "-1e309", "NaN", "Infinity", '"0.5"', '"NaN"', "true", "[0.5]", '{"usd": 0.5}', "null"]


@pytest.mark.parametrize("cost", HOSTILE_COSTS)
async def test_a_hostile_cost_is_no_cost(fake: FakeProvider, cost: str) -> None:
    usage = await usage_of(fake, "openrouter", raw(openai_body(f'{{{GOOD}, "cost": {cost}}}')))
    assert usage == Usage(10, 5)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": -1}}}}', Usage(10, 5)),
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": 1.5}}}}', Usage(10, 5)),
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": NaN}}}}', Usage(10, 5)),
        # The openai SDK itself validates its optional fields loosely: "3" is 3, and true is 1, before we see them.
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": "3"}}}}', Usage(10, 5, 3)),
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": true}}}}', Usage(10, 5, 1)),
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": "x"}}}}', Usage(10, 5)),
        ('{"prompt_tokens": true, "completion_tokens": false}', None),  # the totals it keeps as sent
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": 1e400}}}}', Usage(10, 5)),
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": 11}}}}', Usage(10, 5)),  # more than the input
        (f'{{{GOOD}, "prompt_tokens_details": "cached"}}', Usage(10, 5)),
        (f'{{{GOOD}, "prompt_tokens_details": [{{"cached_tokens": 3}}]}}', Usage(10, 5)),
        (f'{{{GOOD}, "prompt_tokens_details": {{"cached_tokens": {{"n": 3}}}}}}', Usage(10, 5)),
        (f'{{{GOOD}, "completion_tokens_details": {{"reasoning_tokens": -2}}}}', Usage(10, 5)),
        (f'{{{GOOD}, "completion_tokens_details": {{"reasoning_tokens": 6}}}}', Usage(10, 5)),  # more than the output
        (f'{{{GOOD}, "completion_tokens_details": null}}', Usage(10, 5)),
        (f'{{{GOOD}, "completion_tokens_details": {{"reasoning_tokens": 4.0}}}}', Usage(10, 5, None, 4)),
        ('{"prompt_tokens": -1, "completion_tokens": "5", "cost": -3}', None),
        ('"usage"', None),
        ("[1, 2]", None),
    ],
)
async def test_hostile_token_details_are_none_and_the_answer_arrives(
    fake: FakeProvider, usage: str, expected: Usage | None
) -> None:
    assert await usage_of(fake, "grok", raw(openai_body(usage))) == expected


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"promptTokenCount": 10, "candidatesTokenCount": 5, "cachedContentTokenCount": -1}, Usage(10, 5)),
        ({"promptTokenCount": 10, "candidatesTokenCount": 5, "cachedContentTokenCount": 11}, Usage(10, 5)),
        ({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": -1}, Usage(10, 5)),
        ({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 10**30}, Usage(10, 5)),
        ({"promptTokenCount": 10, "candidatesTokenCount": -5, "thoughtsTokenCount": 3}, Usage(10, 3, None, 3)),
    ],
)
async def test_hostile_gemini_counts_are_none_and_the_answer_arrives(
    fake: FakeProvider, metadata: dict[str, Any], expected: Usage
) -> None:
    assert await usage_of(fake, "gemini", raw(gemini_body(metadata))) == expected


async def test_a_gemini_count_that_is_not_an_int_makes_the_answer_invalid_as_before(fake: FakeProvider) -> None:
    # google-genai validates usageMetadata as ints: the whole answer fails its reading (a typed, retried error).
    body = gemini_body({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": "many"})
    with pytest.raises(InvalidResponse, match="unreadable answer"):
        await usage_of(fake, "gemini", raw(body))
