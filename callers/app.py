"""The application object: everything a call needs that outlives it, in one place.

    async with Junior.build(settings) as app:      # no I/O until the first call
        answer = await ask(app, "grok", Request("Explain async/await"))

The server builds one in its lifespan and tools reach it through the typed lifespan context; a library
user or a test builds their own (with its own clock, so that no test waits for a breaker's cooldown);
the seed's module-level API sits on a default one (`callers.seed`).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio

from ai.pool import ClientPool, Sender
from callers.cli_sessions import keep_sessions_in_store
from callers.jobs import RunningJobs
from core.config.credentials import lookup_order
from core.config.settings import AIConfig, Settings
from core.errors import AIUnavailable, InvalidRequest, NoAIConfigured, StoreUnavailable, UnknownAI
from core.redact import Redactor, safe_url
from core.resilience.guard import AIGuard
from core.resilience.locks import KeyedLock
from core.store.url import STORE_MODULES, store_url

if TYPE_CHECKING:
    from core.store.database import Store

__all__ = ["MAX_MODEL_CHARS", "Junior", "Route", "split_name"]

logger = logging.getLogger("junior_ai.app")

BACKGROUND_DRAIN_S = 0.5  # closing waits this long for bookkeeping under way (ledger rows), within its 1.5 s


# A model id as providers spell them ("gpt-5-mini", "gemini-2.5-pro", "meta-llama/Llama-3.3-70B:free"):
# printable, no spaces. Any such id is passed on; the provider says whether it knows it.
MAX_MODEL_CHARS = 200


def split_name(text: str) -> tuple[str, str | None]:
    """`"openai:gpt-5-mini"` → ("openai", "gpt-5-mini"); `" Grok "` → ("grok", None). The AI's name is
    case-insensitive, the model's id is kept as written.

    Raises:
        InvalidRequest: a colon with no model id after it, or an id with spaces or control characters.
    """
    name, colon, model = text.strip().partition(":")
    name, model = name.strip().lower(), model.strip()
    if not colon:
        return name, None
    if (
        not model
        or len(model) > MAX_MODEL_CHARS
        or not all(char.isprintable() and not char.isspace() for char in model)
    ):
        raise InvalidRequest(
            f"{text.strip()!r}: after the colon comes the model's id, as the provider spells it, with no spaces "
            f'(e.g. "{name or "openai"}:gpt-5-mini")'
        )
    return name, model


@dataclass(frozen=True)
class Route:
    """What one call to one AI goes through: its configuration, its guard, its client, and the model
    it asks (the configured one, or the one `name:model` picked)."""

    name: str
    config: AIConfig
    guard: AIGuard
    client: Sender
    model: str

    @property
    def label(self) -> str:
        """How results name this call: the AI's name, or `name:model` when the call picked the model."""
        return self.name if self.model == self.config.model else f"{self.name}:{self.model}"


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
        thread_locks: One lock per thread in use, so that calls on one thread take turns.
        jobs: The calls running in the background after they handed off (callers/jobs.py).
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
        self.thread_locks = KeyedLock()  # calls on one thread take turns (callers/history.py)
        self._store: Store | None = None
        self._opening_store = anyio.Lock()
        self.ledger_behind = 0  # ledger rows that could not be written (server_status shows it)
        self._background: set[asyncio.Task[None]] = set()  # bookkeeping after answers (`after_answer`)
        self.jobs = RunningJobs(self.store, self.redactor)  # calls that handed off go on here (callers/jobs.py)
        keep_sessions_in_store(pool, self.store)  # a thread's CLI session, on any server and after a restart

    @classmethod
    def build(cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> Junior:
        """The application for `settings`. No I/O happens here, and no SDK is imported."""
        guards = {name: AIGuard.for_ai(settings.ais[name], settings, clock) for name in settings.usable_ais}
        return cls(settings, ClientPool.build(settings), guards, clock)

    def after_answer(self, job: Coroutine[Any, Any, None]) -> None:
        """Run `job` (bookkeeping such as a ledger row) once the answer is in hand, without keeping the
        caller waiting: a task of its own, which no cancellation of the call reaches, and which closing
        waits for (briefly). `job` reports its own failures: nobody awaits it who could.

        (A task of its own rather than a task group's: the MCP SDK enters and leaves the lifespan, where
        the application lives, in different tasks.)
        """
        task = asyncio.get_running_loop().create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Finish the bookkeeping under way (at most BACKGROUND_DRAIN_S), then close every client and the
        store. Safe to call more than once. Jobs still running stop first (recorded as lost)."""
        self.closed = True
        await self.jobs.aclose()
        if self._background:
            _, late = await asyncio.wait(set(self._background), timeout=BACKGROUND_DRAIN_S)
            for task in late:
                logger.warning("bookkeeping still running after %g s was abandoned", BACKGROUND_DRAIN_S)
                task.cancel()
            if late:  # a write under way is shielded: the store closes only once it has ended (or given up)
                await asyncio.wait(late, timeout=BACKGROUND_DRAIN_S)
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
            if not all(module in sys.modules for module in STORE_MODULES):
                # First use: SQLAlchemy and the driver load now (~0.2 s), off the event loop.
                await anyio.to_thread.run_sync(lambda: [importlib.import_module(module) for module in STORE_MODULES])
            from core.store.database import Store

            store = await Store(url, thread_ttl_s=self.settings.thread_ttl_days * 86_400).open()
            try:
                await store.threads.purge_expired()
                await store.jobs.purge_expired()
            except StoreUnavailable as error:  # expired rows are invisible anyway: purge them next time
                logger.warning("could not purge expired threads and jobs: %s", error)
            self._store = store
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
        if ai is not None and ai.cli is not None:  # enabled, so its command was not found
            raise AIUnavailable(
                name, f"its command {ai.cli.command!r} was not found (install the CLI, or give its absolute path)"
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

    def route(self, text: str) -> Route:
        """Everything a call to AI `text` goes through: a configured AI's name, or `name:model` for a
        model of its provider other than the configured one.

        Raises:
            NoAIConfigured, AIUnavailable, UnknownAI: as `config`.
            InvalidRequest: `name:` without a model id, or an id with spaces.
        """
        name, model = split_name(text)
        config = self.config(name)
        client = self.pool.clients.get(name)
        if client is None:
            raise AIUnavailable(name, "could not be built (see the server log)")
        return Route(name, config, self.guards[name], client, model or config.model)

    def select(self, names: Iterable[str] | None) -> list[Route]:
        """The AIs a multi-AI call asks: every usable one, or the given names (each an AI's name or
        `name:model`), de-duplicated in order; one AI may be asked with several models.

        Raises:
            NoAIConfigured: no AI can be called.
            UnknownAI, AIUnavailable, InvalidRequest: a given name cannot be called.
        """
        if names is None:
            if not self.settings.usable_ais:
                raise NoAIConfigured(self._why_none())
            names = self.settings.usable_ais
        chosen: dict[str, Route] = {}
        for route in map(self.route, names):
            chosen.setdefault(route.label, route)
        return list(chosen.values())
