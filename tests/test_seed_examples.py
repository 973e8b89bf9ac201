"""The seed's three usage examples, verbatim apart from configuration (the fake provider's URLs)."""

from __future__ import annotations

import asyncio

import pytest

from callers import Junior
from core.config.settings import Settings
from tests.fakes import FakeProvider

pytestmark = pytest.mark.anyio


async def test_basic_async_call(fake: FakeProvider, registry: Junior) -> None:
    from ai.async_client import call_ai_async

    # Single async call
    response = await call_ai_async("gemini", "What is 2+2?", temperature=0.1)

    assert response == "[gemini:gemini-2.5-flash] What is 2+2?"
    assert fake.requests_for("gemini")[0].body["generationConfig"]["temperature"] == 0.1


async def test_concurrent_calls(fake: FakeProvider, registry: Junior) -> None:
    from ai.async_client import call_ai_async

    prompt = "Review this function"
    # Multiple AIs concurrently
    responses = await asyncio.gather(
        call_ai_async("gemini", prompt), call_ai_async("openai", prompt), call_ai_async("grok", prompt)
    )

    assert responses == [
        f"[{ai}] {prompt}" for ai in ("gemini:gemini-2.5-flash", "openai:gpt-4.1-mini", "grok:grok-3-mini")
    ]


async def test_with_context_manager(fake: FakeProvider, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    gemini = settings.ais["gemini"]
    api_key, model = gemini.api_key.get_secret_value(), gemini.model  # type: ignore[union-attr]
    monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url("gemini", "gemini"))  # configuration: the loopback fake

    from ai.async_client import create_async_ai_client

    async with await create_async_ai_client("gemini", api_key, model) as client:
        response = await client.generate("Hello, world!")

    assert response == "[gemini:gemini-2.5-flash] Hello, world!"
    assert client.closed
