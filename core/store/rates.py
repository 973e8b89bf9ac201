"""Rate limits in the store: each caller's requests counted per minute, shared by every server on the store.

    verdict = await store.rates.admit("alice", limit=120)     # counts the request, then decides
    if not verdict.allowed: ... answer 429, Retry-After: verdict.retry_after_header

One row per caller holds the current fixed window's count and the previous window's
(core/resilience/rate_limits.py turns them into a sliding window). Counting is one statement, an upsert that
returns the counts:

    INSERT INTO rate_windows VALUES (caller, window, 1, 0)
    ON CONFLICT (caller) DO UPDATE SET hits = ..., previous_hits = ..., window_start = ...
    RETURNING window_start, hits, previous_hits

It rolls the row over when a new window begins (the current count becomes the previous one, or both start
again after an idle window). The statement is atomic on both backends without any lock of ours: PostgreSQL
locks the row for the upsert, so two servers counting one caller at once each see the other's hit; on
SQLite the statement runs holding the file's write lock (core/store/database.py), and this process's counts share
transactions with its other writes, in one worker-thread call (`Store.batched_sync`). On PostgreSQL it runs
outside any transaction (`Store.single_statement`): one round trip per request, no BEGIN or COMMIT.

A server whose clock is behind (its window is older than the row's) counts its request in the row's window
rather than turning the row back. A caller's row stays until `purge` deletes rows idle for two windows
(they count nothing any more): a cheap indexed delete, however often it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Double, Executable, Row, bindparam, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from core.resilience.rate_limits import WINDOW_S, RateCount, RateVerdict, verdict, window_of
from core.store.schema import rate_windows

__all__ = ["RateStore", "Rates"]

T = TypeVar("T")


class RateStore(Protocol):
    """What the rate counts need of the store (core/store/database.py's `Store`)."""

    clock: Callable[[], float]

    @property
    def backend(self) -> str: ...  # "sqlite" or "postgresql"

    async def batched(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T: ...

    async def batched_sync(self, operation: Callable[[Connection], T]) -> T: ...

    async def single_statement(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T: ...


class Rates:
    """The rate counts of one open store (`Store.rates`)."""

    def __init__(self, store: RateStore) -> None:
        self._store = store
        self._counting: Executable | None = None  # the upsert, built once (building it costs more than running it)

    async def hit(self, caller: str, *, now: float | None = None, window_s: float = WINDOW_S) -> RateCount:
        """Count one request by `caller` at `now` (the store's clock when None); returns the counts with it.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        now = self._store.clock() if now is None else now
        values = {"caller": caller, "window": window_of(now, window_s), "window_s": window_s}
        if self._counting is None:
            self._counting = _counting(self._store.backend)
        upsert = self._counting
        if self._store.backend == "sqlite":
            # In one worker-thread call, with the other writes waiting then: through the async driver, the
            # statement and its transaction took several trips to its thread and back, on every request.
            def write_sync(conn: Connection) -> RateCount:
                return _count(conn.execute(upsert, values).one())

            return await self._store.batched_sync(write_sync)

        async def write(conn: AsyncConnection) -> RateCount:
            return _count((await conn.execute(upsert, values)).one())

        return await self._store.single_statement(write)

    async def admit(
        self, caller: str, limit: int, *, now: float | None = None, window_s: float = WINDOW_S
    ) -> RateVerdict:
        """Count one request by `caller` and say whether it is within `limit` requests per window (a refused
        request counts too: a caller that keeps knocking stays out until it waits).

        Raises:
            StoreUnavailable: the store cannot be written.
            ValueError: `limit` is below 1.
        """
        if limit < 1:
            raise ValueError(f"a rate limit is at least 1 request per window, not {limit}")
        now = self._store.clock() if now is None else now
        return verdict(await self.hit(caller, now=now, window_s=window_s), limit, now, window_s)

    async def purge(self, *, now: float | None = None, window_s: float = WINDOW_S) -> int:
        """Delete the rows of callers idle for two windows (they count nothing); returns how many.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        now = self._store.clock() if now is None else now
        idle = delete(rate_windows).where(rate_windows.c.window_start < window_of(now, window_s) - window_s)

        async def write(conn: AsyncConnection) -> int:
            return int((await conn.execute(idle)).rowcount)

        return await self._store.batched(write)


def _count(counted: Row[Any]) -> RateCount:
    return RateCount(float(counted.window_start), int(counted.hits), int(counted.previous_hits))


def _counting(backend: str) -> Executable:
    """The statement that counts one request (parameters `caller`, `window`, `window_s`) and returns the
    caller's counts (see the module's docstring)."""
    dialect = postgresql if backend == "postgresql" else sqlite
    upsert = dialect.insert(rate_windows).values(
        caller=bindparam("caller"), window_start=bindparam("window", type_=Double()), hits=1, previous_hits=0
    )
    row, new = rate_windows.c, upsert.excluded
    same = new.window_start <= row.window_start  # this window (or, from a clock behind, an earlier one)
    following = new.window_start == row.window_start + bindparam("window_s", type_=Double())
    counting: Executable = upsert.on_conflict_do_update(
        index_elements=["caller"],
        set_={
            "hits": case((same, row.hits + 1), else_=1),
            "previous_hits": case((same, row.previous_hits), (following, row.hits), else_=0),
            "window_start": case((same, row.window_start), else_=new.window_start),
        },
    ).returning(row.window_start, row.hits, row.previous_hits)
    return counting
