"""The registry: one sync and one async client per usable AI, shared by every tool and caller.

    AI_CLIENTS        name → SyncAIClient   (call_ai, and the fallback of call_ai_async)
    ASYNC_AI_CLIENTS  name → AsyncAIClient  (call_ai_async, call_multiple_ais)

Building a client imports no SDK (the SDK client is made on first use), so initializing is cheap.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.config import AIConfig, Settings, load_settings
from core.errors import AIUnavailable, NoAIConfigured, UnknownAI
from core.guard import AIGuard

if TYPE_CHECKING:
    from ai.async_client import AsyncAIClient
    from ai.sync_client import SyncAIClient

__all__ = [
    "AI_CLIENTS",
    "ASYNC_AI_CLIENTS",
    "GUARDS",
    "cleanup_async_ai_clients",
    "cleanup_sync_ai_clients",
    "current_settings",
    "initialize_all_clients",
    "initialize_all_clients_async",
    "is_initialized",
    "usable_config",
]

logger = logging.getLogger("junior_ai.registry")

AI_CLIENTS: dict[str, SyncAIClient] = {}
ASYNC_AI_CLIENTS: dict[str, AsyncAIClient] = {}
GUARDS: dict[str, AIGuard] = {}  # breaker, limiter, retry policy and metrics per usable AI
_settings: list[Settings] = []  # the settings the pools were built from (at most one)


def current_settings() -> Settings | None:
    """The settings the registry was initialized with, or None before initialization."""
    return _settings[0] if _settings else None


def is_initialized() -> bool:
    return bool(_settings)


def _options(ai: AIConfig, settings: Settings) -> dict[str, object]:
    return {
        "base_url": ai.base_url,
        "timeout": ai.timeout,
        "kind": ai.kind,
        "connect_timeout": ai.connect_timeout_s or settings.connect_timeout_s,
        "max_connections": settings.max_connections,
        "organization": ai.organization,
        "project": ai.project,
    }


def _key(ai: AIConfig) -> str | None:
    return ai.api_key.get_secret_value() if ai.api_key else None


def _build(settings: Settings) -> None:
    """Fill both (empty) pools: one sync and one async client per usable AI. No I/O happens here."""
    from ai.async_client import build_async_ai_client
    from ai.sync_client import create_ai_client

    for name in settings.usable_ais:
        ai = settings.ais[name]
        options = _options(ai, settings)
        try:
            ASYNC_AI_CLIENTS[name] = build_async_ai_client(name, _key(ai), ai.model, **options)
        except Exception:  # one AI that cannot be built must not stop the others
            logger.exception("%s: could not build the async client; skipping it", name)
        try:
            AI_CLIENTS[name] = create_ai_client(name, _key(ai), ai.model, **options)
        except Exception:  # one AI that cannot be built must not stop the others
            logger.exception("%s: could not build the sync client; skipping it", name)
    _settings[:] = [settings]
    GUARDS.clear()
    GUARDS.update({name: AIGuard.for_ai(settings.ais[name], settings) for name in settings.usable_ais})


def initialize_all_clients(settings: Settings | None = None) -> dict[str, SyncAIClient]:
    """Build both pools from `settings` (default: the configuration files and environment), for
    synchronous callers. Sync clients built before are closed; async ones are dropped unclosed, since
    closing them needs an event loop: from async code, use `initialize_all_clients_async`.

    Raises:
        ConfigError: the configuration is invalid.
    """
    settings = settings or current_settings() or load_settings()
    cleanup_sync_ai_clients()
    ASYNC_AI_CLIENTS.clear()
    _build(settings)
    return AI_CLIENTS


async def initialize_all_clients_async(settings: Settings | None = None) -> dict[str, AsyncAIClient]:
    """Build both pools (async and sync) from `settings`, closing any clients built before.

    Raises:
        ConfigError: the configuration is invalid.
    """
    settings = settings or load_settings()
    await cleanup_async_ai_clients()
    _build(settings)
    return ASYNC_AI_CLIENTS


def cleanup_sync_ai_clients() -> None:
    """Close and forget every sync client."""
    clients = list(AI_CLIENTS.values())
    AI_CLIENTS.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # shutdown goes on whatever one client does
            logger.exception("%s: error while closing the sync client", client.name)


async def cleanup_async_ai_clients() -> None:
    """Close and forget every client, sync and async. Safe to call more than once."""
    cleanup_sync_ai_clients()  # first: quick, and nothing below may keep it from happening
    clients = list(ASYNC_AI_CLIENTS.values())
    ASYNC_AI_CLIENTS.clear()
    for client in clients:
        try:
            await client.close()
        except Exception:  # shutdown goes on whatever one client does
            logger.exception("%s: error while closing the async client", client.name)
    _settings.clear()
    GUARDS.clear()


def usable_config(name: str) -> AIConfig:
    """The configuration of AI `name`, if it can be called.

    Raises:
        NoAIConfigured: no AI at all can be called.
        AIUnavailable: `name` is configured but disabled or without a key.
        UnknownAI: `name` is not configured; the message lists the usable ones.
    """
    settings = current_settings() or Settings()
    usable = settings.usable_ais
    ai = settings.ais.get(name)
    if ai is not None and ai.usable:
        return ai
    if not usable:
        raise NoAIConfigured()
    if ai is not None and not ai.enabled:
        raise AIUnavailable(name, 'is disabled in the configuration (set "enabled": true to use it)')
    if ai is not None:
        raise AIUnavailable(name, f"has no API key (set {ai.key_env_hint} or {name}.api_key in credentials.json)")
    raise UnknownAI(name, usable)
