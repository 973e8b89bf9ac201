"""The CLI AIs' sessions in threads, kept in the store (core/store/cli_sessions.py): a thread's next call to a
CLI AI resumes its session on whichever server sharing the store takes it, and after a restart.

    keep_sessions_in_store(pool, app.store)     # Junior does this once, at build

The store is opened on first use, as for threads. One that cannot be read or written is logged, and the call
goes on without the session: the thread's history goes in the prompt, as for an AI that has none.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ai.cli.client import CliClient
from ai.pool import ClientPool
from core.errors import StoreUnavailable
from core.store.turns import CliSession

if TYPE_CHECKING:
    from core.store.database import Store

__all__ = ["StoredSessions", "keep_sessions_in_store"]

logger = logging.getLogger("junior_ai.cli")


class StoredSessions:
    """The `SessionBook` (ai/cli/sessions.py) of the CLI AIs, in the store that `store` opens."""

    def __init__(self, store: Callable[[], Awaitable[Store]]) -> None:
        self._store = store

    async def get(self, thread_id: str, ai: str) -> CliSession | None:
        """AI `ai`'s session in thread `thread_id`; None when it has none, or the store cannot be read."""
        try:
            return await (await self._store()).cli_sessions.get(thread_id, ai)
        except StoreUnavailable as error:
            logger.warning(
                "%s: could not read its session in thread %s, the history goes instead: %s", ai, thread_id, error
            )
            return None

    async def put(self, thread_id: str, ai: str, session: CliSession) -> None:
        """Keep `session` as AI `ai`'s session in thread `thread_id` (a store that cannot be written: logged)."""
        try:
            await (await self._store()).cli_sessions.put(thread_id, ai, session)
        except StoreUnavailable as error:
            logger.warning("%s: could not keep its session in thread %s: %s", ai, thread_id, error)

    async def drop(self, thread_id: str, ai: str) -> None:
        """Forget AI `ai`'s session in thread `thread_id` (a store that cannot be written: logged)."""
        try:
            await (await self._store()).cli_sessions.drop(thread_id, ai)
        except StoreUnavailable as error:
            logger.warning("%s: could not forget its failed session in thread %s: %s", ai, thread_id, error)


def keep_sessions_in_store(pool: ClientPool, store: Callable[[], Awaitable[Store]]) -> None:
    """Make every CLI client of `pool` keep its sessions in the store that `store` opens."""
    sessions = StoredSessions(store)
    for client in pool.clients.values():
        if isinstance(client, CliClient):
            client.sessions = sessions
