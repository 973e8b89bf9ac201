"""CLI sessions in the store: the session each CLI AI (ai/cli/) has in a thread, so that the thread's next call
to it continues that session (`--resume`) on any server sharing the store, and after a restart.

    await store.cli_sessions.put("t1", "claude", CliSession("9f2c…", cost_usd=0.0125))
    session = await store.cli_sessions.get("t1", "claude")   # None: it has none there
    await store.cli_sessions.drop("t1", "claude")             # it failed: the next call starts a new one

One row per (thread, AI), rewritten by each run with the session's cost and tokens so far as the CLI reported
them. A thread's rows go with it, when it is deleted or purged once expired (core/store/threads.py).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from core.store.schema import cli_sessions
from core.store.threads import Transactions
from core.store.turns import CliSession

__all__ = ["CliSessions"]


class CliSessions:
    """The CLI-session queries of one open store (`Store.cli_sessions`)."""

    def __init__(self, store: Transactions) -> None:
        self._store = store

    async def get(self, thread_id: str, ai: str) -> CliSession | None:
        """AI `ai`'s session in thread `thread_id`, or None.

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        figures = cli_sessions.c
        query = select(figures.session_id, figures.cost_usd, figures.input_tokens, figures.output_tokens).where(
            figures.thread_id == thread_id, figures.ai == ai
        )
        async with self._store.read() as conn:
            row = (await conn.execute(query)).first()
        return CliSession(row.session_id, row.cost_usd, row.input_tokens, row.output_tokens) if row else None

    async def put(self, thread_id: str, ai: str, session: CliSession) -> None:
        """Make `session` AI `ai`'s session in thread `thread_id`, replacing the one it had.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        dialect = postgresql if self._store.backend == "postgresql" else sqlite
        figures = {
            "session_id": session.session_id,
            "cost_usd": session.cost_usd,
            "input_tokens": session.input_tokens,
            "output_tokens": session.output_tokens,
            "updated": self._store.clock(),
        }
        upsert = dialect.insert(cli_sessions).values(thread_id=thread_id, ai=ai, **figures)
        upsert = upsert.on_conflict_do_update(index_elements=["thread_id", "ai"], set_=figures)

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(upsert)

        await self._store.batched(write)

    async def drop(self, thread_id: str, ai: str) -> None:
        """Forget AI `ai`'s session in thread `thread_id` (none: nothing happens).

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        statement = delete(cli_sessions).where(cli_sessions.c.thread_id == thread_id, cli_sessions.c.ai == ai)

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._store.batched(write)
