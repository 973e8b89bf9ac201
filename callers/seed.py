"""The seed's module-level API, a thin shim over one lazily built default application (the shape of
openai-python's module-level client over `_load_client()`).

    answer = await call_ai_async("gemini", "What is 2+2?", temperature=0.1)   # builds it from config
    results = await call_multiple_ais("Review this", ["gemini", "openai"])
    await cleanup_async_ai_clients()

The seed's import paths stay too: `core.ai_clients`, `ai.caller` and `ai.async_client.call_ai_async`
forward here. The server does not use any of this: it builds its own application in its lifespan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

from ai.async_client import create_async_ai_client
from ai.request import Request
from callers.app import Junior
from callers.call import ask, ask_sync
from callers.fanout import ask_all
from callers.result import AIResult
from core.config.defaults import TEMPERATURE
from core.config.settings import Settings, load_settings

if TYPE_CHECKING:
    from ai.async_client import AsyncAIClient
    from ai.sync_client import SyncAIClient

__all__ = [
    "AI_CLIENTS",
    "ASYNC_AI_CLIENTS",
    "AIResult",
    "call_ai",
    "call_ai_async",
    "call_multiple_ais",
    "cleanup_async_ai_clients",
    "create_async_ai_client",
    "default_app",
    "initialize_all_clients",
    "initialize_all_clients_async",
]

_app: Junior | None = None  # the default application; the only module-level state in the server

V = TypeVar("V")


def default_app() -> Junior:
    """The default application, built from the configuration files and environment on first use.

    Raises:
        ConfigError: the configuration is invalid.
    """
    global _app
    if _app is None or _app.closed:
        _app = Junior.build(load_settings())
    return _app


class _Pool(Mapping[str, V]):
    """A live, read-only view of one of the default application's client pools: names imported once
    (`from core.ai_clients import ASYNC_AI_CLIENTS`) see the clients of whichever application is current."""

    def __init__(self, pick: Callable[[Junior], Mapping[str, V]]) -> None:
        self._pick = pick

    def _pool(self) -> Mapping[str, V]:
        return self._pick(_app) if _app is not None and not _app.closed else {}

    def __getitem__(self, name: str) -> V:
        return self._pool()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pool())

    def __len__(self) -> int:
        return len(self._pool())

    def __repr__(self) -> str:
        return repr(dict(self._pool()))


ASYNC_AI_CLIENTS: Mapping[str, AsyncAIClient] = _Pool(lambda app: app.pool.async_clients)
AI_CLIENTS: Mapping[str, SyncAIClient] = _Pool(lambda app: app.pool.sync_clients)


async def initialize_all_clients_async(settings: Settings | None = None) -> Mapping[str, AsyncAIClient]:
    """(Re)build the default application from `settings` (default: the configuration), closing the
    previous one's clients; returns its async clients.

    Raises:
        ConfigError: the configuration is invalid.
    """
    global _app
    await cleanup_async_ai_clients()
    _app = Junior.build(settings or load_settings())
    return ASYNC_AI_CLIENTS


def initialize_all_clients(settings: Settings | None = None) -> Mapping[str, SyncAIClient]:
    """(Re)build the default application for synchronous callers; returns its sync clients. The previous
    application's sync clients are closed; its async ones are dropped unclosed, since closing them needs
    an event loop: from async code, use `initialize_all_clients_async`.

    Raises:
        ConfigError: the configuration is invalid.
    """
    global _app
    if _app is not None:
        _app.pool.close()
    _app = Junior.build(settings or load_settings())
    return AI_CLIENTS


async def cleanup_async_ai_clients() -> None:
    """Close every client of the default application and forget it. Safe to call more than once."""
    global _app
    app, _app = _app, None
    if app is not None:
        await app.aclose()


async def call_ai_async(
    name: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
) -> str:
    """Ask one AI and return its answer, resiliently (retries, breaker, limits; see `callers.call`).

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured: `name` cannot be called (the message says why).
        ProviderError: the provider failed (typed; see core.errors).
    """
    request = Request(prompt, system=system, temperature=temperature, max_tokens=max_tokens, timeout=timeout)
    return (await ask(default_app(), name, request)).text


def call_ai(
    name: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
) -> str:
    """Ask one AI synchronously and return its answer, through the same policy as `call_ai_async`.

    Raises:
        As `call_ai_async`.
    """
    request = Request(prompt, system=system, temperature=temperature, max_tokens=max_tokens, timeout=timeout)
    return ask_sync(default_app(), name, request).text


async def call_multiple_ais(
    prompt: str,
    ai_names: Iterable[str] | None = None,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
    on_result: Callable[[AIResult], Awaitable[None]] | None = None,
) -> list[AIResult]:
    """Ask several AIs the same prompt at once (every usable one by default); one `AIResult` per AI, in
    order; total time ≈ the slowest one. An AI unanswered by `deadline` seconds is marked timed out.

    Raises:
        NoAIConfigured, UnknownAI, AIUnavailable: before any AI is asked, when the names are wrong.
    """
    request = Request(
        prompt, system=system, temperature=temperature, max_tokens=max_tokens, timeout=timeout, deadline=deadline
    )
    return await ask_all(default_app(), ai_names, request, on_result)
