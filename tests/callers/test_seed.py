"""The seed's API (call_ai, call_ai_async, call_multiple_ais over the default application), against the
loopback fake."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from ai.caller import AIResult, call_ai, call_ai_async, call_multiple_ais
from callers import Junior
from core import ai_clients
from core.config.settings import Settings, load_settings
from core.errors import AIUnavailable, AuthenticationFailed, NoAIConfigured, UnknownAI
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS, env_for, write_credentials

pytestmark = pytest.mark.anyio


async def test_call_ai_async_uses_the_async_client(fake: FakeProvider, registry: Junior) -> None:
    answer = await call_ai_async("deepseek", "What is 2+2?", temperature=0.1)
    assert answer == "[deepseek:deepseek-chat] What is 2+2?"
    assert fake.requests_for("deepseek")[0].headers["user-agent"].startswith("AsyncOpenAI")


async def test_call_multiple_ais_is_concurrent(fake: FakeProvider, registry: Junior) -> None:
    for name in ("gemini", "openai", "grok"):
        fake.behave(name, latency=30)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(call_multiple_ais, "hello", ["gemini", "openai", "grok"])
            # Each answer takes 30 s, so all three requests arrive only if all three are in flight at once.
            assert await anyio.to_thread.run_sync(fake.wait_for_requests, 3, 5)
            group.cancel_scope.cancel()
    assert sorted(r.ai for r in fake.requests) == ["gemini", "grok", "openai"]


async def test_one_failing_ai_never_loses_the_others_answers(fake: FakeProvider, registry: Junior) -> None:
    fake.behave("grok", status=500)
    fake.behave("openai", blocked=True)
    results = await call_multiple_ais("hello")
    by_ai = {r.ai: r for r in results}
    assert [r.ai for r in results] == list(ALL_AIS)
    assert by_ai["grok"] == AIResult(
        ai="grok",
        model="grok-3-mini",
        ok=False,
        error="fake provider error 500 (HTTP 500)",
        error_kind="server_error",
        status_code=500,
        latency_s=by_ai["grok"].latency_s,
    )
    assert by_ai["openai"].error_kind == "content_blocked"
    assert all(by_ai[name].ok for name in ("gemini", "deepseek", "openrouter", "ollama"))
    assert by_ai["gemini"].input_tokens == 1 and by_ai["gemini"].latency_s > 0


async def test_names_are_validated_before_any_ai_is_asked(fake: FakeProvider, registry: Junior) -> None:
    with pytest.raises(UnknownAI, match="unknown AI 'claude'; configured: deepseek, gemini, grok, ollama"):
        await call_multiple_ais("hello", ["grok", "claude"])
    assert fake.requests == []
    results = await call_multiple_ais("hello", ["grok", "GROK ", "gemini"])
    assert [r.ai for r in results] == ["grok", "gemini"]


async def test_on_result_is_awaited_as_each_ai_finishes(fake: FakeProvider, registry: Junior) -> None:
    fake.behave("grok", latency=0.3)
    finished: list[str] = []

    async def note(result: AIResult) -> None:
        finished.append(result.ai)

    await call_multiple_ais("hello", ["grok", "deepseek"], on_result=note)
    assert finished == ["deepseek", "grok"]


async def test_falls_back_to_sync_when_the_async_client_cannot_work(fake: FakeProvider, registry: Junior) -> None:
    await ai_clients.ASYNC_AI_CLIENTS["grok"].aclose()  # not the provider's doing: the async path is broken
    assert await call_ai_async("grok", "via the sync path") == "[grok:grok-3-mini] via the sync path"
    assert fake.requests_for("grok")[0].headers["user-agent"].startswith("OpenAI/")
    registry.pool.clients["gemini"] = registry.pool.threaded("gemini")  # type: ignore[assignment]  # no async client
    assert await call_ai_async("gemini", "sync gemini") == "[gemini:gemini-2.5-flash] sync gemini"


async def test_provider_errors_are_not_resent_through_the_sync_path(fake: FakeProvider, registry: Junior) -> None:
    fake.behave("grok", status=401)
    with pytest.raises(AuthenticationFailed):
        await call_ai_async("grok", "hello")
    assert len(fake.requests_for("grok")) == 1
    assert fake.requests_for("grok")[0].headers["user-agent"].startswith("AsyncOpenAI")


async def test_unusable_names_say_why(fake: FakeProvider, tmp_path: Path) -> None:
    body = {
        "grok": {"api_key": "k" * 20, "base_url": fake.base_url("grok")},
        "openai": {"api_key": "k" * 20, "enabled": False},
        "deepseek": {"model": "deepseek-chat"},
    }
    await ai_clients.initialize_all_clients_async(load_settings(write_credentials(tmp_path / "c.json", body), env={}))
    try:
        with pytest.raises(AIUnavailable, match="openai is disabled"):
            await call_ai_async("openai", "hi")
        with pytest.raises(AIUnavailable, match=r"deepseek has no API key .*DEEPSEEK_API_KEY"):
            await call_ai_async("deepseek", "hi")
        with pytest.raises(UnknownAI, match="configured: grok"):
            await call_ai_async("gemini", "hi")
    finally:
        await ai_clients.cleanup_async_ai_clients()


async def test_no_keys_at_all_gives_setup_guidance() -> None:
    await ai_clients.initialize_all_clients_async(Settings())
    try:
        with pytest.raises(NoAIConfigured, match=r"GEMINI_API_KEY.*credentials\.example\.json"):
            await call_multiple_ais("hi")
        with pytest.raises(NoAIConfigured):
            await call_ai_async("grok", "hi")
    finally:
        await ai_clients.cleanup_async_ai_clients()


async def test_standalone_use_initializes_from_the_environment(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", Path("/nonexistent"))
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", Path("/nonexistent/credentials.json"))
    for name, value in env_for(fake, ("grok", "ollama")).items():
        monkeypatch.setenv(name, value)
    assert not ai_clients.ASYNC_AI_CLIENTS, "nothing is built before the first call"
    try:
        assert await call_ai_async("ollama", "standalone") == "[ollama:llama3.2] standalone"
        assert sorted(ai_clients.ASYNC_AI_CLIENTS) == ["grok", "ollama"]
    finally:
        await ai_clients.cleanup_async_ai_clients()


def test_call_ai_is_synchronous_and_initializes_on_first_use(fake: FakeProvider, settings: Settings) -> None:
    ai_clients.initialize_all_clients(settings)
    try:
        assert call_ai("openrouter", "sync please", temperature=0.2) == "[openrouter:openrouter/auto] sync please"
        assert fake.requests_for("openrouter")[0].headers["user-agent"].startswith("OpenAI/")
    finally:
        anyio.run(ai_clients.cleanup_async_ai_clients)


async def test_cleanup_closes_every_client_and_is_safe_twice(fake: FakeProvider, settings: Settings) -> None:
    await ai_clients.initialize_all_clients_async(settings)
    await call_multiple_ais("open some connections")
    clients = [*ai_clients.ASYNC_AI_CLIENTS.values(), *ai_clients.AI_CLIENTS.values()]
    assert len(clients) == 2 * len(ALL_AIS)
    await ai_clients.cleanup_async_ai_clients()
    await ai_clients.cleanup_async_ai_clients()
    assert all(client.closed for client in clients)
    sdk_clients = [client._sdk for client in clients if client.kind == "openai" and client._sdk is not None]
    assert sdk_clients and all(sdk.is_closed() for sdk in sdk_clients), "the HTTP connections are closed"
    assert not ai_clients.ASYNC_AI_CLIENTS and not ai_clients.AI_CLIENTS


async def test_an_ai_whose_client_cannot_be_built_is_reported_and_skipped(
    fake: FakeProvider, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ai import async_client, pool

    real = async_client.build_async_ai_client

    def fails_for_grok(name: str, *args: object, **options: object) -> async_client.AsyncAIClient:
        if name == "grok":
            raise RuntimeError("cannot build grok")
        return real(name, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(pool, "build_async_ai_client", fails_for_grok)
    await ai_clients.initialize_all_clients_async(settings)
    try:
        assert "grok" not in ai_clients.ASYNC_AI_CLIENTS and "gemini" in ai_clients.ASYNC_AI_CLIENTS
        assert "grok: could not build the async client; skipping it" in caplog.text
        results = await call_multiple_ais("still works", ["grok", "gemini"])
        assert [r.ok for r in results] == [True, True], "grok falls back to its sync client"
    finally:
        await ai_clients.cleanup_async_ai_clients()
