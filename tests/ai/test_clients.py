"""Provider clients through the real openai and google-genai SDKs, over HTTP, against the loopback fake."""

from __future__ import annotations

import asyncio
import json

import anyio
import pytest

from ai.async_client import AsyncAIClient, AsyncGeminiClient, AsyncOpenAICompatibleClient, create_async_ai_client
from ai.request import Request
from ai.sync_client import GeminiClient, OpenAICompatibleClient, create_ai_client
from core.errors import (
    AuthenticationFailed,
    BadRequest,
    ContentBlocked,
    EmptyResponse,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    UnknownAI,
)
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import api_of, closed_port

pytestmark = pytest.mark.anyio
KEY = "sk-canary-key-do-not-leak-1234"
AIS = ["grok", "gemini"]  # one per SDK: OpenAI-compatible, google-genai


async def client_for(fake: FakeProvider, ai: str, **options: object) -> AsyncAIClient:
    return await create_async_ai_client(ai, KEY, f"{ai}-test-model", base_url=fake.base_url(ai, api_of(ai)), **options)


@pytest.mark.parametrize("ai", AIS)
async def test_generate_sends_prompt_system_and_limits_and_returns_the_text(fake: FakeProvider, ai: str) -> None:
    async with await client_for(fake, ai) as client:
        answer = await client.generate("What is 2+2?", temperature=0.1, max_tokens=50, system="Be brief.")
    assert answer == f"[{ai}:{ai}-test-model] What is 2+2?"
    [request] = fake.requests_for(ai)
    assert "What is 2+2?" in request.prompt and "Be brief." in request.prompt
    if ai == "gemini":
        assert request.headers["x-goog-api-key"] == KEY
        assert request.body["generationConfig"] == {"temperature": 0.1, "maxOutputTokens": 50}
    else:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert (request.body["temperature"], request.body["max_tokens"]) == (0.1, 50)


async def test_openai_itself_gets_max_completion_tokens(fake: FakeProvider) -> None:
    async with await client_for(fake, "openai") as client:
        await client.generate("hi", max_tokens=7)
    [request] = fake.requests_for("openai")
    assert request.body["max_completion_tokens"] == 7 and "max_tokens" not in request.body


@pytest.mark.parametrize("ai", AIS)
async def test_complete_reports_model_and_token_usage(fake: FakeProvider, ai: str) -> None:
    async with await client_for(fake, ai) as client:
        completion = await client.ask(Request("one two three"))
    assert completion.usage is not None
    assert completion.usage.input_tokens == 3 and completion.usage.output_tokens == 4
    assert completion.model == f"{ai}-test-model"


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize(
    ("behaviour", "error", "status", "reason"),
    [
        (Behaviour(status=400), BadRequest, 400, "fake provider error 400"),
        (Behaviour(status=401), AuthenticationFailed, 401, "fake provider error 401"),
        (Behaviour(status=403), AuthenticationFailed, 403, "fake provider error 403"),
        (Behaviour(status=404), ModelNotFound, 404, "fake provider error 404"),
        (Behaviour(status=422), BadRequest, 422, "fake provider error 422"),
        (Behaviour(status=500), ProviderServerError, 500, "fake provider error 500"),
        (Behaviour(status=503), ProviderServerError, 503, "fake provider error 503"),
        (Behaviour(empty=True), EmptyResponse, None, "no text"),
        (Behaviour(blocked=True), ContentBlocked, None, "block|filter"),
        (Behaviour(body="this is not json"), InvalidResponse, None, "unreadable answer"),
    ],
)
async def test_provider_failures_become_typed_errors(
    fake: FakeProvider, ai: str, behaviour: Behaviour, error: type[ProviderError], status: int | None, reason: str
) -> None:
    fake.behave(ai, behaviour)
    async with await client_for(fake, ai) as client:
        with pytest.raises(error, match=reason) as caught:
            await client.generate("hi")
    assert (caught.value.ai, caught.value.model, caught.value.status_code) == (ai, f"{ai}-test-model", status)
    if status is not None:
        assert caught.value.__cause__ is not None, "chained to the SDK exception"
    assert KEY not in str(caught.value)
    assert len(fake.requests_for(ai)) == 1, "no SDK retries: one request per call"


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0.5", 0.5)])
async def test_rate_limit_carries_retry_after(fake: FakeProvider, ai: str, header: str, seconds: float) -> None:
    fake.behave(ai, status=429, retry_after=header)
    async with await client_for(fake, ai) as client:
        with pytest.raises(RateLimited) as caught:
            await client.generate("hi")
    assert caught.value.retry_after == seconds and caught.value.status_code == 429


@pytest.mark.parametrize("ai", AIS)
async def test_timeout_is_an_asyncio_timeout_error_and_bounded(fake: FakeProvider, ai: str) -> None:
    fake.behave(ai, latency=5)
    async with await client_for(fake, ai, timeout=0.3) as client:
        with anyio.fail_after(3), pytest.raises(asyncio.TimeoutError) as caught:  # well before the 5 s answer
            await client.generate("hi")
    assert isinstance(caught.value, ProviderTimeout) and caught.value.ai == ai


@pytest.mark.parametrize("ai", AIS)
async def test_a_per_call_timeout_overrides_the_clients(fake: FakeProvider, ai: str) -> None:
    fake.behave(ai, latency=5)
    async with await client_for(fake, ai, timeout=30) as client:
        with anyio.fail_after(3), pytest.raises(ProviderTimeout, match=r"within 0\.2 s"):
            await client.generate("hi", timeout=0.2)


@pytest.mark.parametrize("ai", AIS)
async def test_connection_refused_is_unreachable(ai: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}" + ("" if ai == "gemini" else "/v1")
    async with await create_async_ai_client(ai, KEY, "m", base_url=url) as client:
        with anyio.fail_after(5), pytest.raises(ProviderUnreachable, match="connection failed"):
            await client.generate("hi")


async def test_factory_picks_the_sdk_by_name_and_rejects_unknown_names() -> None:
    assert isinstance(await create_async_ai_client("gemini", KEY, "m"), AsyncGeminiClient)
    for name in ("openai", "grok", "deepseek", "openrouter"):
        assert isinstance(await create_async_ai_client(name, KEY, "m"), AsyncOpenAICompatibleClient)
    custom = await create_async_ai_client("ollama", None, "llama3", base_url="http://localhost:11434/v1")
    assert isinstance(custom, AsyncOpenAICompatibleClient) and custom.base_url == "http://localhost:11434/v1"
    with pytest.raises(ValueError, match=r"valid .*: deepseek, gemini, grok, openai, openrouter"):
        await create_async_ai_client("nope", KEY, "m")
    with pytest.raises(UnknownAI):
        create_ai_client("nope", KEY, "m")


async def test_a_keyless_custom_ai_never_sends_another_ais_key(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    async with await create_async_ai_client("ollama", None, "llama3", base_url=fake.base_url("ollama")) as client:
        await client.generate("hi")
    [request] = fake.requests_for("ollama")
    assert KEY not in request.headers.get("authorization", "")


@pytest.mark.parametrize("ai", AIS)
async def test_close_is_idempotent_and_a_closed_client_refuses_work(fake: FakeProvider, ai: str) -> None:
    client = await client_for(fake, ai)
    await client.generate("warm up")
    await client.aclose()
    await client.aclose()
    assert client.closed
    with pytest.raises(RuntimeError, match="is closed"):
        await client.generate("hi")


@pytest.mark.parametrize("ai", AIS)
def test_sync_clients_share_the_signature_and_errors(fake: FakeProvider, ai: str) -> None:
    with create_ai_client(ai, KEY, f"{ai}-test-model", base_url=fake.base_url(ai, api_of(ai))) as client:
        assert isinstance(client, GeminiClient if ai == "gemini" else OpenAICompatibleClient)
        assert client.generate("sync hi", 0.2, 30, system="S") == f"[{ai}:{ai}-test-model] sync hi"
        fake.behave(ai, blocked=True)
        with pytest.raises(ContentBlocked):
            client.generate("hi")
        fake.behave(ai, latency=5)
        with pytest.raises(ProviderTimeout):
            client.generate("hi", timeout=0.3)
    assert client.closed


@pytest.mark.parametrize("ai", AIS)
@pytest.mark.parametrize("where", [10, 290, 298])
async def test_a_key_echoed_by_the_provider_never_reaches_the_message(fake: FakeProvider, ai: str, where: int) -> None:
    message = "x" * where + f" invalid key: {KEY} end"
    body = json.dumps({"error": {"message": message, "code": 401, "status": "UNAUTHENTICATED"}})
    fake.behave(ai, status=401, body=body)
    async with await client_for(fake, ai) as client:
        with pytest.raises(AuthenticationFailed) as caught:
            await client.generate("hi")
    assert KEY not in str(caught.value)
    assert KEY[:12] not in str(caught.value), "not even the start of the key"


@pytest.mark.parametrize("ai", AIS)
async def test_close_closes_the_http_connections(fake: FakeProvider, ai: str) -> None:
    client = await client_for(fake, ai)
    await client.generate("opens a connection")
    await client.aclose()
    sdk = client._sdk  # type: ignore[attr-defined]
    http = sdk._client if ai != "gemini" else sdk._api_client._async_httpx_client
    assert http.is_closed


async def test_an_answer_of_the_wrong_shape_is_invalid_not_a_crash(fake: FakeProvider) -> None:
    fake.behave("grok", body='{"choices": "nope"}')  # the openai SDK accepts any JSON object
    async with await client_for(fake, "grok") as client:
        with pytest.raises(InvalidResponse, match=r"not a chat completion \(choices is a str\)"):
            await client.generate("hi")
