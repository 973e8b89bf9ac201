"""Each AI's models, as its provider lists them: every usable AI at once, within one deadline, each list
kept in the store's cache for an hour (`MODELS_CACHE_S`).

    report = await list_models(app, deadline_s=20)                 # cached lists where fresh
    report = await list_models(app, deadline_s=20, refresh=True)   # every list from its provider

An AI that fails, or is still answering at the deadline, is named with the reason; the others are shown
(and a list cached earlier, however old, is shown beside the failure). The store is a cache here, never
a requirement: one that cannot be opened, is locked or is slow costs a note, and the lists are fetched.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel

from ai.clean import model_ids
from ai.errors import MODEL_LIST
from callers.app import Junior
from callers.call import SDK_BACKSTOP_S
from core.config.defaults import MODELS_CACHE_S
from core.errors import DeadlineReached, JuniorAIError, ProviderTimeout, StoreUnavailable
from core.redact import safe_url
from core.resilience.deadline import Deadline, within

if TYPE_CHECKING:
    from core.store.database import Store

__all__ = ["STORE_SHARE", "AIModels", "ModelsReport", "cache_entry", "cached_ids", "is_fresh", "list_models"]

logger = logging.getLogger("junior_ai.models")

# Of the deadline, what opening the store and reading the cache may take at most: the rest is the providers'.
STORE_SHARE = 0.5

ModelSource = Literal["provider", "cache"]


class AIModels(BaseModel):
    """One AI's models.

    Attributes:
        name: The AI's configured name.
        models: The model ids, sorted, as `name:model` takes them (empty when none could be had).
        source: "provider" (fetched now) or "cache" (fetched earlier: see `fetched_at`); None when neither.
        fetched_at: When the provider gave this list, in seconds since the epoch.
        error: Why the provider's list could not be had now, when it could not.
        error_kind: The error's kind ("timeout", "auth", "server_error", ...; see core.errors).
    """

    name: str
    models: list[str] = []
    source: ModelSource | None = None
    fetched_at: float | None = None
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ModelsReport(BaseModel):
    """Every usable AI's models, in the configuration's order, and notes on the whole (the store's state)."""

    ais: list[AIModels]
    notes: list[str] = []


def is_fresh(fetched_at: float, now: float, max_age_s: float = MODELS_CACHE_S) -> bool:
    """Whether a list fetched at `fetched_at` may still be shown as current at `now` (both wall-clock
    seconds). A time in the future (a clock set back, another machine's) is not trusted: fetch again."""
    return 0 <= now - fetched_at < max_age_s


def cache_entry(base_url: str, models: list[str]) -> str:
    """What the store keeps for one AI: its ids, and the endpoint they came from (password masked)."""
    return json.dumps({"base_url": safe_url(base_url), "models": models})


def cached_ids(entry: str, base_url: str) -> list[str] | None:
    """The ids in a cache entry, cleaned again (the store is shared, and may hold anything), or None when
    it is unreadable or came from another endpoint than `base_url` (the configuration changed)."""
    try:
        data: Any = json.loads(entry)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("base_url") != safe_url(base_url):
        return None
    models = data.get("models")
    return model_ids(models) if isinstance(models, list) else None


async def list_models(
    app: Junior, *, deadline_s: float, refresh: bool = False, now: Callable[[], float] = time.time
) -> ModelsReport:
    """Every usable AI's models: from the cache where fresh (unless `refresh`), else from the provider,
    all at once, within `deadline_s`; fetched lists are saved to the cache.

    `now` is the wall clock the cache's ages are measured with (the store records `time.time`).
    Provider and store failures are reported, not raised: each AI's in its `AIModels`, the store's in
    the notes.
    """
    deadline = Deadline(deadline_s, app.clock)
    cache = _Cache(app, deadline, now)
    names = list(app.settings.usable_ais)
    found: dict[str, AIModels] = {}
    async with anyio.create_task_group() as group:
        group.start_soon(cache.open)
        for name in names:
            group.start_soon(_one_ai, app, name, cache, refresh, found)
    return ModelsReport(ais=[found[name] for name in names], notes=cache.notes)


class _Cache:
    """The store as one listing uses it: opened alongside the providers' requests, waited for only so
    long (`STORE_SHARE` of the time left), and every failure a note (once), never an error."""

    def __init__(self, app: Junior, deadline: Deadline, now: Callable[[], float]) -> None:
        self.app = app
        self.deadline = deadline
        self.now = now
        self.notes: list[str] = []
        self.store: Store | None = None
        self._settled = anyio.Event()  # opened, or failed to

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    async def open(self) -> None:
        """Open the store (a note says why not), by the deadline: a SQLite file locked by another process
        is waited for in a thread, abandoned then."""
        try:
            with anyio.move_on_after(self.deadline.remaining()):
                self.store = await self.app.store()
        except StoreUnavailable as error:
            self.note(f"without the model cache: {error}")
        finally:
            self._settled.set()

    async def _opened(self) -> Store | None:
        with anyio.move_on_after(self.deadline.remaining() * STORE_SHARE):
            await self._settled.wait()
        if not self._settled.is_set():
            self.note("without the model cache: the store did not open in time")
        return self.store

    async def read(self, name: str, base_url: str) -> tuple[list[str], float] | None:
        """The AI's cached ids and when they were fetched, or None."""
        store = await self._opened()
        if store is None:
            return None
        with anyio.move_on_after(self.deadline.remaining() * STORE_SHARE) as scope:
            try:
                cached = await store.cached_models(name)
            except StoreUnavailable as error:
                self.note(f"the model cache could not be read, so the lists were fetched: {error}")
                return None
        if scope.cancelled_caught:
            self.note("the model cache did not answer in time, so the lists were fetched")
            return None
        if cached is None:
            return None
        ids = cached_ids(cached.json, base_url)
        return (ids, cached.fetched_at) if ids is not None else None

    async def save(self, name: str, base_url: str, models: list[str]) -> None:
        if self.store is None:
            return
        with anyio.move_on_after(self.deadline.remaining()) as scope:
            try:
                await self.store.save_models(name, cache_entry(base_url, models))
            except StoreUnavailable as error:
                self.note(f"the lists could not be cached: {error}")
        if scope.cancelled_caught:
            self.note("the lists could not be cached before the deadline")


async def _one_ai(app: Junior, name: str, cache: _Cache, refresh: bool, found: dict[str, AIModels]) -> None:
    try:
        route = app.route(name)
    except JuniorAIError as error:
        found[name] = AIModels(name=name, error=str(error), error_kind="unavailable")
        return
    base_url = route.config.base_url
    cached = await cache.read(name, base_url)
    if cached is not None and not refresh and is_fresh(cached[1], cache.now()):
        found[name] = AIModels(name=name, models=cached[0], source="cache", fetched_at=cached[1])
        return
    own_limit = route.config.timeout
    limit = min(own_limit, cache.deadline.remaining())
    # As for a call: cut short by the deadline rather than the AI's own timeout, it is not the AI's fault.
    error_class, which = (
        (ProviderTimeout, f"{name}'s timeout") if limit >= own_limit else (DeadlineReached, "deadline_s")
    )
    try:
        with within(limit, name, MODEL_LIST, error_class, which):
            models = await route.client.list_models(limit + SDK_BACKSTOP_S)
    except JuniorAIError as error:
        logger.info("%s: no model list: %s", name, error)
        failed = AIModels(name=name, error=str(error), error_kind=getattr(error, "kind", "unavailable"))
        if cached is not None:  # stale, or skipped by `refresh`: still better than nothing, and dated
            failed = failed.model_copy(update={"models": cached[0], "source": "cache", "fetched_at": cached[1]})
        found[name] = failed
        return
    found[name] = AIModels(name=name, models=models, source="provider", fetched_at=cache.now())
    await cache.save(name, base_url, models)
