"""The application object: everything a call needs that outlives it, in one place.

    async with Junior.build(settings) as app:      # no I/O until the first call
        answer = await complete(app, "grok", Request("Explain async/await"))

The server builds one in its lifespan and tools reach it through the typed lifespan context; a library
user or a test builds their own (with its own clock, so that no test waits for a breaker's cooldown);
the seed's module-level API sits on a default one (`callers.seed`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self

import anyio

from ai.pool import ClientPool, Sender
from core.config import AIConfig, Settings
from core.credentials import lookup_order
from core.errors import AIUnavailable, NoAIConfigured, StoreUnavailable, UnknownAI
from core.guard import AIGuard
from core.redact import Redactor, safe_url
from core.store_url import store_url

if TYPE_CHECKING:
    from core.store import Store

__all__ = ["Junior", "Route"]


@dataclass(frozen=True)
class Route:
    """What one call to one AI goes through: its configuration, its guard and its client."""

    name: str
    config: AIConfig
    guard: AIGuard
    client: Sender


class Junior:
    """The settings, the client pool, the per-AI guards (breaker, limiter, retry policy, metrics), the
    redactor that keeps the configuration's keys out of everything the application says, and the store,
    opened on first use (`store()`).

    Attributes:
        settings: What the server was configured with.
        redactor: Masks the configuration's keys (`Settings.secrets`) in any text.
        pool: The sync and async clients of every usable AI.
        guards: name → AIGuard, one per usable AI.
        clock: The monotonic clock the guards and deadlines measure time with.
        closed: True once `aclose()` ran.
    """

    def __init__(
        self, settings: Settings, pool: ClientPool, guards: dict[str, AIGuard], clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.redactor = Redactor(settings.secrets)
        self.pool = pool
        self.guards = guards
        self.clock = clock
        self.closed = False
        self._store: Store | None = None
        self._opening_store = anyio.Lock()

    @classmethod
    def build(cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> Junior:
        """The application for `settings`. No I/O happens here, and no SDK is imported."""
        guards = {name: AIGuard.for_ai(settings.ais[name], settings, clock) for name in settings.usable_ais}
        return cls(settings, ClientPool.build(settings), guards, clock)

    async def aclose(self) -> None:
        """Close every client and the store. Safe to call more than once."""
        self.closed = True
        store, self._store = self._store, None
        try:
            await self.pool.aclose()
        finally:
            if store is not None:
                await store.aclose()

    async def store(self) -> Store:
        """The store (threads, caches), opened the first time it is asked for, once, however many calls ask
        at once. SQLAlchemy is imported here, never on the start path. A store that failed to open is tried
        again by the next call (a lock may have been released, a server started).

        Raises:
            StoreUnavailable: it cannot be opened (or the application is closed); says why and the fix.
        """
        if self._store is not None:
            return self._store
        async with self._opening_store:
            if self._store is not None:
                return self._store
            url = store_url(self.settings)
            if self.closed:
                raise StoreUnavailable(safe_url(url), "the application is closed", "build a new one")
            from core.store import Store  # first use: SQLAlchemy and the drivers load now

            self._store = await Store(url).open()
            return self._store

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def config(self, name: str) -> AIConfig:
        """The configuration of AI `name`, if it can be called.

        Raises:
            NoAIConfigured: no AI at all can be called.
            AIUnavailable: `name` is configured but disabled, without a key, or its client failed to build.
            UnknownAI: `name` is not configured; the message lists the usable ones.
        """
        ai = self.settings.ais.get(name)
        if ai is not None and ai.usable:
            return ai
        if not self.settings.usable_ais:
            raise NoAIConfigured(self._why_none())
        if ai is not None and not ai.enabled:
            raise AIUnavailable(name, 'is disabled in the configuration (set "enabled": true to use it)')
        if ai is not None and ai.placeholder_key:
            where = self.settings.source or "credentials.json"
            raise AIUnavailable(
                name,
                f"has a placeholder, not a key, in {where}: put the key in {name}.api_key or set {ai.key_env_hint}",
            )
        if ai is not None:
            raise AIUnavailable(name, f"has no API key (set {ai.key_env_hint} or {name}.api_key in credentials.json)")
        broken = [problem for problem in self.settings.problems if f": {name}:" in problem]
        if broken:
            raise AIUnavailable(name, f"is not usable: its configuration is broken ({broken[0]})")
        raise UnknownAI(name, self.settings.usable_ais)

    def _why_none(self) -> str:
        placeholders = [name for name, ai in self.settings.ais.items() if ai.placeholder_key]
        if self.settings.problems:
            return "the configuration has problems: " + "; ".join(self.settings.problems)
        if placeholders:
            where = self.settings.source or "credentials.json"
            return f"{', '.join(placeholders)} have placeholders, not keys, in {where}"
        return f"credentials.json is looked for at: {lookup_order()}"

    def route(self, name: str) -> Route:
        """Everything a call to AI `name` goes through.

        Raises:
            NoAIConfigured, AIUnavailable, UnknownAI: as `config`.
        """
        config = self.config(name)
        client = self.pool.clients.get(name)
        if client is None:
            raise AIUnavailable(name, "could not be built (see the server log)")
        return Route(name, config, self.guards[name], client)

    def select(self, names: Iterable[str] | None) -> list[Route]:
        """The AIs a multi-AI call asks: every usable one, or the given names (trimmed, lower-cased,
        de-duplicated in order).

        Raises:
            NoAIConfigured: no AI can be called.
            UnknownAI, AIUnavailable: a given name cannot be called.
        """
        if names is None:
            chosen = self.settings.usable_ais
            if not chosen:
                raise NoAIConfigured(self._why_none())
        else:
            chosen = list(dict.fromkeys(name.strip().lower() for name in names))
        return [self.route(name) for name in chosen]
