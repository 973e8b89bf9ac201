"""Completions for the prompts' arguments (`completion/complete`), as clients offer them while a slash
command is typed: AI names, `ai:model` from the cached model lists, several names comma-separated, rounds.

    ai, chairman     the usable AIs' names; after "name:", that AI's models from the cache
    ais              the same for the last of the comma-separated names, the earlier ones kept
    rounds           1 to 5

The model lists come from the store's cache only (server_status fills it): completing never asks a
provider, and a store that is slow or failing gives names without models, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from callers.models import cached_ids
from collab.debate import MAX_ROUNDS
from core.errors import StoreUnavailable
from tools.prompts import PROMPTS

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from callers import Junior

__all__ = ["CACHE_READ_S", "MAX_VALUES", "complete_list", "complete_name", "register"]

MAX_VALUES = 100  # the protocol's most values in one completion
CACHE_READ_S = 1.0  # a completion is typed while the user waits: the cache is read this long at most

logger = logging.getLogger("junior_ai.tools")


def complete_name(partial: str, names: Sequence[str], models: Sequence[str] = ()) -> list[str]:
    """The values for one AI argument typed so far as `partial`: the names it begins (case-insensitive),
    or, once it has a colon, `name:model` for the named AI's `models` that the rest begins."""
    name, colon, model = partial.partition(":")
    if colon:
        return [f"{name}:{found}" for found in models if found.lower().startswith(model.lower())]
    return [found for found in names if found.lower().startswith(partial.strip().lower())]


def complete_list(partial: str, names: Sequence[str], models: Sequence[str] = ()) -> list[str]:
    """The values for a comma-separated list of AIs: the last item completed (`complete_name`), the
    earlier ones kept as typed, names already in the list not offered again."""
    head, comma, last = partial.rpartition(",")
    earlier = {item.strip().partition(":")[0] for item in head.split(",")} if comma else set()
    typed = last.lstrip()
    prefix = f"{head},{last[: len(last) - len(typed)]}" if comma else ""
    offered = complete_name(typed, [name for name in names if name not in earlier], models)
    return [f"{prefix}{value}" for value in offered]


async def cached_models(app: Junior, name: str) -> list[str]:
    """AI `name`'s model ids as the store's cache has them (any age), or none: the store unreadable, slow,
    or the list never fetched."""
    if name not in app.settings.usable_ais:
        return []
    with anyio.move_on_after(CACHE_READ_S):
        try:
            store = await app.store()
            cached = await store.cached_models(name)
        except StoreUnavailable as error:
            logger.warning("completion without the model cache: %s", error)
            return []
        if cached is None:
            return []
        return cached_ids(cached.json, app.settings.ais[name].base_url) or []
    return []


def register(server: MCPServer, running: Callable[[], Junior]) -> None:
    """Register the completion handler on `server`; `running()` is the live connection's application
    (the SDK hands a completion handler no request context)."""

    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if not isinstance(ref, PromptReference) or ref.name not in PROMPTS:
            return None
        if argument.name == "rounds":
            return _completion([str(n) for n in range(1, MAX_ROUNDS + 1) if str(n).startswith(argument.value)])
        if argument.name not in {"ai", "ais", "chairman"}:
            return None
        app = running()
        last = argument.value.rpartition(",")[2].strip()
        name, colon, _ = last.partition(":")
        models = await cached_models(app, name) if colon else []
        pick = complete_list if argument.name == "ais" else complete_name
        return _completion(pick(argument.value, app.settings.usable_ais, models))

    server.completion()(complete)  # type: ignore[no-untyped-call]  # the SDK's decorator is not annotated


def _completion(values: list[str]) -> Completion:
    return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)
