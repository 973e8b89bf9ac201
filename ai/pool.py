"""One client per usable AI, ready to send: the async client, with the sync client as its fallback.

    pool = ClientPool.build(settings)      # no I/O: SDK clients are made on first use
    completion = await pool.clients["grok"].ask(request, timeout)
    await pool.aclose()

Every entry of `clients` has the same `Sender` interface whatever stands behind it: the async client;
the async client falling back to the sync one in a worker thread when it fails before sending; or the
sync client alone when no async client could be built. Callers have no branch for any of these.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

import anyio

from ai.async_client import AsyncAIClient, build_async_ai_client
from ai.cli.client import CliClient
from ai.request import Completion, Request
from ai.stream import Received
from ai.sync_client import SyncAIClient, create_ai_client
from core.config.settings import AIConfig, Settings
from core.errors import ProviderError
from core.redact import Redactor

__all__ = ["ClientPool", "Sender", "ThreadedClient", "WithFallback"]

logger = logging.getLogger("junior_ai.pool")
T = TypeVar("T")


class Sender(Protocol):
    """Asks one AI: sends one request and reads the answer (no retries, no overall limit: the caller's)."""

    name: str
    model: str

    async def ask(
        self, request: Request, timeout: float | None = None, received: Received | None = None
    ) -> Completion: ...

    async def list_models(self, timeout: float | None = None) -> list[str]: ...


class ThreadedClient:
    """A sync client behind the async interface: each request runs in a worker thread, and cancelling
    the call cuts the thread's connection, which ends the request upstream at once."""

    def __init__(self, client: SyncAIClient) -> None:
        self.client = client
        self.name = client.name
        self.model = client.model

    async def ask(self, request: Request, timeout: float | None = None, received: Received | None = None) -> Completion:
        # The sync client does not stream: `received` stays empty, and a cut-off answer is only a timeout.
        if received is not None:
            received.sent = True
        return await self._in_thread(partial(self.client.ask, request, timeout))

    async def list_models(self, timeout: float | None = None) -> list[str]:
        return await self._in_thread(partial(self.client.list_models, timeout))

    async def _in_thread(self, call: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            # The worker thread cannot be cancelled; cutting its connection ends its request upstream now.
            self.client.abort()
            raise


class WithFallback:
    """The async client; when it fails before sending (a bug or a broken SDK install, never a provider's
    answer), the same request once more through the sync client. Once a request is sent, every failure is
    a typed ProviderError of its answer, so an answer is never sent twice."""

    def __init__(self, primary: AsyncAIClient, fallback: ThreadedClient) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.model = primary.model

    async def ask(self, request: Request, timeout: float | None = None, received: Received | None = None) -> Completion:
        try:
            return await self.primary.ask(request, timeout, received)
        except ProviderError:
            raise
        except Exception:  # the fallback the design asks for: logged in full, so a bug is not hidden
            logger.exception("%s: the async client failed before sending; trying the sync client", self.name)
        return await self.fallback.ask(request, timeout, received)

    async def list_models(self, timeout: float | None = None) -> list[str]:
        try:
            return await self.primary.list_models(timeout)
        except ProviderError:
            raise
        except Exception:  # as in `ask`: a bug or a broken SDK install, logged in full
            logger.exception("%s: the async client failed to list models; trying the sync client", self.name)
        return await self.fallback.list_models(timeout)


def _options(ai: AIConfig, settings: Settings, redactor: Redactor) -> dict[str, Any]:
    return {
        "base_url": ai.base_url,
        "timeout": ai.timeout,
        "kind": ai.kind,
        "connect_timeout": ai.connect_timeout_s or settings.connect_timeout_s,
        "max_connections": settings.max_connections,
        "max_answer_bytes": settings.max_answer_bytes,
        "organization": ai.organization,
        "project": ai.project,
        "api_version": ai.api_version,
        "stream": ai.stream,
        "redactor": redactor,
    }


def _built(name: str, what: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Exception:  # one AI that cannot be built must not stop the others
        logger.exception("%s: could not build the %s client; skipping it", name, what)
        return None


@dataclass
class ClientPool:
    """The async and sync clients of every usable AI, and the `Sender` each call goes through.

    Attributes:
        async_clients: name → AsyncAIClient, for the AIs whose async client could be built.
        sync_clients: name → SyncAIClient, for the AIs whose sync client could be built.
        clients: name → the Sender a call uses (see the module docstring).
    """

    async_clients: dict[str, AsyncAIClient] = field(default_factory=dict)
    sync_clients: dict[str, SyncAIClient] = field(default_factory=dict)
    clients: dict[str, Sender] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> ClientPool:
        """Both clients of every usable AI. No I/O happens here, and no SDK is imported. Each masks every key
        of the configuration in what its provider sends back, not only its own: a provider (or a proxy in
        front of several) may echo any of them, and what it says is quoted to the other AIs."""
        pool = cls()
        redactor = Redactor(settings.secrets)
        for name in settings.usable_ais:
            ai = settings.ais[name]
            if ai.cli is not None:  # a CLI agent: a process per call, no SDK (ai/cli/)
                cli_client = _built(name, "CLI", partial(CliClient.build, ai, settings, redactor))
                pool.clients.update({name: cli_client} if cli_client is not None else {})
                continue
            key = ai.api_key.get_secret_value() if ai.api_key else None
            options = _options(ai, settings, redactor)
            async_client = _built(name, "async", partial(build_async_ai_client, name, key, ai.model, **options))
            sync_client = _built(name, "sync", partial(create_ai_client, name, key, ai.model, **options))
            if async_client is not None:
                pool.async_clients[name] = async_client
            if sync_client is not None:
                pool.sync_clients[name] = sync_client
            pool.clients.update(_sender(async_client, sync_client))
        return pool

    def threaded(self, name: str) -> Sender | None:
        """The sync client of `name` behind the async interface (what the synchronous `call_ai` uses)."""
        client = self.sync_clients.get(name)
        return ThreadedClient(client) if client is not None else None

    def close(self) -> None:
        """Close every sync client (quick, and needs no event loop); `aclose` closes the async ones too."""
        for client in self.sync_clients.values():
            try:
                client.close()
            except Exception:  # shutdown goes on whatever one client does
                logger.exception("%s: error while closing the sync client", client.name)

    async def aclose(self) -> None:
        """Close every client, sync and async. Safe to call more than once."""
        self.close()  # first: quick, and nothing below may keep it from happening
        for client in self.async_clients.values():
            try:
                await client.aclose()
            except Exception:  # shutdown goes on whatever one client does
                logger.exception("%s: error while closing the async client", client.name)


def _sender(async_client: AsyncAIClient | None, sync_client: SyncAIClient | None) -> dict[str, Sender]:
    threaded = ThreadedClient(sync_client) if sync_client is not None else None
    if async_client is not None and threaded is not None:
        return {async_client.name: WithFallback(async_client, threaded)}
    if async_client is not None:
        return {async_client.name: async_client}
    if threaded is not None:
        return {threaded.name: threaded}
    return {}
