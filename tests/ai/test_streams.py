"""Streamed answers through the real openai and google-genai SDKs over real HTTP to the loopback fake: the
text arrives chunk by chunk into `Received`, with the usage of the last chunk; a stream that breaks, and
every hostile chunk, ends as a typed error or an answer, never anything else."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from ai.async_client import AsyncAIClient, create_async_ai_client
from ai.request import Request, Usage
from ai.stream import Received
from core.errors import ProviderError, ProviderUnreachable
from tests.fakes import Behaviour, FakeProvider
from tests.fakes.answers import DEPTH
from tests.helpers import api_of

pytestmark = pytest.mark.anyio
KEY = "sk-stream-test-key-0123456789"
AIS = ("grok", "gemini")  # one AI per API
WORDS = " ".join(f"w{n}" for n in range(40))


async def client_for(fake: FakeProvider, ai: str, **options: Any) -> AsyncAIClient:
    return await create_async_ai_client(ai, KEY, f"{ai}-model", base_url=fake.base_url(ai, api_of(ai)), **options)


async def send(fake: FakeProvider, ai: str, received: Received | None = None, **options: Any) -> Any:
    """The answer to one request, or the typed error it ended in."""
    async with await client_for(fake, ai, **options) as client:
        with anyio.fail_after(20):
            try:
                return await client.ask(Request("one two three"), 10, received)
            except ProviderError as error:
                return error


@pytest.mark.parametrize("ai", AIS)
async def test_a_streamed_answer_arrives_whole_with_the_usage_of_its_last_chunk(fake: FakeProvider, ai: str) -> None:
    fake.behave(ai, Behaviour(text=WORDS, chunk_words=3, usage=(12, 40, None, None)))
    heard: list[int] = []

    async def on_tokens(tokens: int) -> None:
        heard.append(tokens)

    received = Received(on_tokens)
    completion = await send(fake, ai, received)
    assert completion.text == WORDS and not completion.partial
    assert completion.usage == Usage(12, 40) and completion.finish_reason in ("stop", "STOP")
    assert len(heard) == 14 and heard == sorted(heard), "one count per chunk of text, never going down"
    assert received.tokens == 40, "once the provider counted, its count is the tokens received"
    [request] = fake.requests_for(ai)
    assert request.stream
    if ai == "grok":
        assert request.body["stream"] is True and request.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("ai", AIS)
async def test_an_answer_as_plain_json_to_a_stream_request_is_read_as_one_answer(fake: FakeProvider, ai: str) -> None:
    fake.behave(ai, Behaviour(text="not streamed", not_streamed=True))
    completion = await send(fake, ai)
    assert completion.text == "not streamed" and completion.usage == Usage(3, 2)


@pytest.mark.parametrize("ai", AIS)
async def test_an_ai_set_not_to_stream_asks_for_the_whole_answer(fake: FakeProvider, ai: str) -> None:
    completion = await send(fake, ai, stream=False)
    assert completion.text.startswith(f"[{ai}:")
    [request] = fake.requests_for(ai)
    assert not request.stream and "stream" not in request.body


@pytest.mark.parametrize("ai", AIS)
async def test_a_stream_that_breaks_mid_way_is_a_connection_failure_after_its_first_chunks(
    fake: FakeProvider, ai: str
) -> None:
    fake.behave(ai, Behaviour(text=WORDS, break_after=6))
    received = Received()
    error = await send(fake, ai, received)
    assert isinstance(error, ProviderUnreachable), error
    assert WORDS.startswith(received.text) and received.text.startswith("w0 "), "the text so far is kept"
    assert await anyio.to_thread.run_sync(fake.wait_for_idle, ai, 5.0)


def openai_chunk(text: Any) -> bytes:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}).encode()


def gemini_chunk(text: Any) -> bytes:
    return json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]}).encode()


CHUNK = {"grok": openai_chunk, "gemini": gemini_chunk}
GIANT = "x" * 5_000_000
INVALID, EMPTY = "invalid_response", "empty_response"
# Hostile chunks, and what each API's stream makes of them: "ok" (an answer), or the error's kind.
HOSTILE: dict[str, tuple[Any, str, str]] = {
    "bad-json": (lambda chunk: (chunk("a "), b'{"choices": [{"delta": '), INVALID, INVALID),
    # openai's SSE reader decodes strictly; google-genai's puts U+FFFD for what is not UTF-8.
    "invalid-utf-8": (lambda chunk: (chunk("a ").replace(b"a ", b"caf\xe9 "),), INVALID, "ok"),
    "giant-chunk": (lambda chunk: (chunk(GIANT),), "ok", "ok"),
    "nested-3000-deep": (lambda chunk: (b"[" * DEPTH + b"]" * DEPTH,), INVALID, INVALID),
    "a-list": (lambda chunk: (b"[1, 2, 3]",), INVALID, INVALID),
    "a-number": (lambda chunk: (b"12",), INVALID, INVALID),
    "text-of-wrong-type": (lambda chunk: (chunk({"a": 1}),), INVALID, INVALID),
    "choices-of-wrong-type": (
        lambda chunk: (b'{"choices": "x", "candidates": "x"}',),
        INVALID,
        INVALID,
    ),
    "lone-surrogate": (lambda chunk: (chunk("ok \ud800 "),), "ok", "ok"),
    "nothing": (lambda chunk: (), EMPTY, INVALID),
    "only-whitespace": (lambda chunk: (chunk("  "), chunk("\n")), EMPTY, EMPTY),
    "error-event": (
        lambda chunk: (chunk("a "), b'{"error": {"message": "overloaded"}}'),
        "server_error",
        INVALID,
    ),
}


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize("case", list(HOSTILE))
async def test_a_hostile_chunk_ends_as_a_typed_error_or_an_answer(fake: FakeProvider, ai: str, case: str) -> None:
    chunks, openai, gemini = HOSTILE[case]
    fake.behave(ai, Behaviour(chunks=tuple(chunks(CHUNK[ai]))))
    outcome = await send(fake, ai)
    expected = openai if ai == "grok" else gemini
    if expected == "ok":
        assert not isinstance(outcome, ProviderError), outcome
        assert outcome.text.strip() and outcome.text.encode("utf-8"), "an answer, and one that can be encoded"
    else:
        assert isinstance(outcome, ProviderError) and outcome.kind == expected, outcome
    if case == "error-event" and ai == "grok":
        assert "the provider stopped the stream: overloaded" in str(outcome)
