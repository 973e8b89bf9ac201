"""Threads in the store: create one, append a call's turns to it at once, read, list, search, delete, expire.

    thread = await store.threads.create("Review the importer")
    await store.threads.append(thread, [NewTurn("user", "Is this safe?"), NewTurn("assistant", "No", ai="grok")])

A thread expires `Store.thread_ttl_s` after its last activity; an expired thread is gone to every query
here, and its rows are deleted by `purge_expired` (the application runs it when it opens the store).
Titles and turns' text are stored with U+0000 escaped, the same on both backends (core/store/text.py); an
id no thread can have is no thread, without asking the database.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import UnknownThread
from core.store.batch import insert_rows
from core.store.schema import cli_sessions, turns
from core.store.schema import threads as threads_table
from core.store.text import decode_text, encode_text, possible_thread_id
from core.store.turns import NewTurn, ThreadInfo, Turn

__all__ = ["CACHED_CHARS", "MAX_LISTED", "Threads", "Transactions"]

MAX_LISTED = 100  # threads one listing returns, at most
T = TypeVar("T")
CACHED_CHARS = 8_000_000  # of turns kept in memory, at most (the latest threads'; see `Threads`)
# The statements of continuing a thread, built once (building one and its cache key took ~0.5 ms a call);
# parameters: thread_id, at (now), until (the new expiry), after (the last place cached), owner.
_ALIVE = or_(threads_table.c.expires.is_(None), threads_table.c.expires >= bindparam("at"))
_LAST_PLACE = select(func.coalesce(func.max(turns.c.seq), 0)).where(turns.c.thread_id == bindparam("thread_id"))
_TOUCH = (
    update(threads_table)
    .where(threads_table.c.id == bindparam("thread_id"), _ALIVE)
    .values(last_activity=bindparam("at"), expires=bindparam("until"))
)
_TOUCH_RETURNING_LAST = _TOUCH.returning(_LAST_PLACE.scalar_subquery())
# One statement: the thread (alive) joined to its turns after the cached ones; a thread with no such turns
# gives one row of nulls.
_TURNS_AFTER = (
    select(threads_table.c.id.label("found"), turns)
    .select_from(
        threads_table.outerjoin(turns, and_(turns.c.thread_id == threads_table.c.id, turns.c.seq > bindparam("after")))
    )
    .where(threads_table.c.id == bindparam("thread_id"), _ALIVE)
    .order_by(turns.c.seq)
)
_OWNERS_TURNS_AFTER = _TURNS_AFTER.where(threads_table.c.owner == bindparam("owner"))


class Transactions(Protocol):
    """What the thread queries need of the store (core/store/database.py's `Store`)."""

    clock: Callable[[], float]
    thread_ttl_s: float

    @property
    def backend(self) -> str: ...  # "sqlite" or "postgresql"

    def read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    def write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    async def batched(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T: ...

    async def batched_sync(self, operation: Callable[[Connection], T]) -> T: ...

    async def read_sync(self, operation: Callable[[Connection], T]) -> T: ...


class Threads:
    """The thread queries of one open store (`Store.threads`).

    Turns never change once written, so the latest threads' turns are kept in memory: reading a thread
    again fetches only the turns added since (by this process or another), in the statement that checks
    the thread is still there. At most CACHED_CHARS characters of turns are kept, the least recently
    read thread's dropped first.
    """

    def __init__(self, store: Transactions) -> None:
        self._store = store
        self._cached: OrderedDict[str, tuple[Turn, ...]] = OrderedDict()
        self._cached_chars = 0

    async def create(
        self, title: str, first: Sequence[NewTurn] = (), *, thread_id: str | None = None, owner: str | None = None
    ) -> str:
        """A new thread, with its `first` turns (places 1, 2, ...) in the same transaction; returns its id
        (`thread_id` when the caller chose it beforehand, else a new one).

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        thread_id = thread_id or uuid.uuid4().hex
        now = self._store.clock()
        rows = [_row(thread_id, seq, turn, now) for seq, turn in enumerate(first, start=1)]
        thread = {"id": thread_id, "title": encode_text(title), "created": now, "last_activity": now, "owner": owner}

        def write(conn: Connection) -> None:  # in one worker-thread call on SQLite (Store.batched_sync)
            insert_rows(conn, threads_table, [{**thread, "expires": now + self._store.thread_ttl_s}])
            insert_rows(conn, turns, rows)

        await self._store.batched_sync(write)
        self._cache(thread_id, tuple(_turn(row) for row in rows))
        return thread_id

    async def append(self, thread_id: str, new: Sequence[NewTurn]) -> list[int]:
        """Add turns at the end of a thread, in one transaction, and return their places: one call's turns
        are consecutive, whatever else appends to the thread at once (tasks, processes), and a crash leaves
        all of them or none. The thread's row is locked (touched) before the last place is read.

        Raises:
            UnknownThread: no such thread, or it expired.
            StoreUnavailable: the store cannot be written.
        """
        if not possible_thread_id(thread_id):
            raise UnknownThread(thread_id)
        now = self._store.clock()
        values = {"thread_id": thread_id, "at": now, "until": now + self._store.thread_ttl_s}
        sqlite = self._store.backend == "sqlite"

        def write(conn: Connection) -> tuple[int, list[dict[str, Any]]]:  # Store.batched_sync
            if sqlite:
                # The write lock is held by the transaction: one statement touches the thread and reads its
                # last place.
                last = conn.execute(_TOUCH_RETURNING_LAST, values).scalar()
            else:
                # PostgreSQL: the row lock may be waited for, so the last place is read by a statement that
                # starts after it (its snapshot then sees what the previous holder committed).
                touched = conn.execute(_TOUCH, values)
                last = conn.scalar(_LAST_PLACE, values) if touched.rowcount else None
            if last is None:
                raise UnknownThread(thread_id)  # before writing anything: see Store.batched_sync
            rows = [_row(thread_id, last + n, turn, now) for n, turn in enumerate(new, start=1)]
            insert_rows(conn, turns, rows)
            return last, rows

        last, rows = await self._store.batched_sync(write)
        cached = self._cached.get(thread_id)
        if cached is not None and (cached[-1].seq if cached else 0) == last:  # nothing landed in between
            self._cache(thread_id, (*cached, *(_turn(row) for row in rows)))
        return [row["seq"] for row in rows]

    async def turns(self, thread_id: str, *, owner: str | None = None) -> list[Turn]:
        """A thread's turns in order.

        Raises:
            UnknownThread: no such thread, or it expired.
            StoreUnavailable: the store cannot be read.
        """
        if not possible_thread_id(thread_id):
            raise UnknownThread(thread_id)
        cached = self._cached.get(thread_id, ())
        after = cached[-1].seq if cached else 0
        values = {"thread_id": thread_id, "at": self._store.clock(), "after": after, "owner": owner}
        query = _TURNS_AFTER if owner is None else _OWNERS_TURNS_AFTER
        rows = await self._store.read_sync(lambda conn: conn.execute(query, values).mappings().all())
        if not rows:
            self._forget(thread_id)
            raise UnknownThread(thread_id)
        added = [_turn({key: row[key] for key in turns.c.keys()}) for row in rows if row["seq"] is not None]
        whole = (*cached, *added)
        self._cache(thread_id, whole)
        return list(whole)

    async def info(self, thread_id: str, *, owner: str | None = None) -> ThreadInfo:
        """One thread's listing.

        Raises:
            UnknownThread: no such thread, or it expired.
            StoreUnavailable: the store cannot be read.
        """
        found = await self._listing(thread_ids=[thread_id], owner=owner) if possible_thread_id(thread_id) else []
        if not found:
            raise UnknownThread(thread_id)
        return found[0]

    async def recent(self, *, limit: int = 20, search: str | None = None, owner: str | None = None) -> list[ThreadInfo]:
        """The threads with the latest activity first; with `search`, only those whose title or turns
        contain it (ignoring case).

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        return await self._listing(limit=min(limit, MAX_LISTED), search=search, owner=owner)

    async def delete(self, thread_id: str, *, owner: str | None = None) -> bool:
        """Delete a thread, its turns and its CLI sessions (only `owner`'s, when given); False when there was no
        such thread.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        self._forget(thread_id)
        if not possible_thread_id(thread_id):
            return False
        mine = select(threads_table.c.id).where(threads_table.c.id == thread_id, _owned_by(owner))
        async with self._store.write() as conn:
            await conn.execute(delete(turns).where(turns.c.thread_id.in_(mine)))
            await conn.execute(delete(cli_sessions).where(cli_sessions.c.thread_id.in_(mine)))
            deleted = await conn.execute(delete(threads_table).where(threads_table.c.id == thread_id, _owned_by(owner)))
        return bool(deleted.rowcount)

    def _cache(self, thread_id: str, whole: tuple[Turn, ...]) -> None:
        self._forget(thread_id)
        self._cached[thread_id] = whole
        self._cached_chars += _chars(whole)
        while self._cached_chars > CACHED_CHARS and len(self._cached) > 1:
            _, dropped = self._cached.popitem(last=False)
            self._cached_chars -= _chars(dropped)

    def _forget(self, thread_id: str) -> None:
        dropped = self._cached.pop(thread_id, None)
        if dropped is not None:
            self._cached_chars -= _chars(dropped)

    async def purge_expired(self) -> int:
        """Delete the threads that expired, with their turns and CLI sessions; returns how many.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        now = self._store.clock()
        expired = select(threads_table.c.id).where(threads_table.c.expires < now)
        async with self._store.write() as conn:
            await conn.execute(delete(turns).where(turns.c.thread_id.in_(expired)))
            deleted = await conn.execute(delete(threads_table).where(threads_table.c.expires < now))
            # and the CLI sessions of threads no longer there (written as one expired, say)
            await conn.execute(delete(cli_sessions).where(cli_sessions.c.thread_id.not_in(select(threads_table.c.id))))
        return int(deleted.rowcount or 0)

    async def _listing(
        self,
        *,
        thread_ids: list[str] | None = None,
        limit: int = MAX_LISTED,
        search: str | None = None,
        owner: str | None = None,
    ) -> list[ThreadInfo]:
        now = self._store.clock()
        query = select(threads_table).where(self._alive(now), _owned_by(owner))
        if thread_ids is not None:
            query = query.where(threads_table.c.id.in_(thread_ids))
        if search:
            needle = f"%{_escape_like(encode_text(search).lower())}%"
            in_turns = select(turns.c.thread_id).where(func.lower(turns.c.text).like(needle, escape="\\"))
            query = query.where(
                or_(func.lower(threads_table.c.title).like(needle, escape="\\"), threads_table.c.id.in_(in_turns))
            )
        query = query.order_by(threads_table.c.last_activity.desc(), threads_table.c.id).limit(limit)
        async with self._store.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
            ids = [row["id"] for row in rows]
            by_thread = select(turns.c.thread_id, func.count()).where(turns.c.thread_id.in_(ids))
            counts = {row[0]: int(row[1]) for row in await conn.execute(by_thread.group_by(turns.c.thread_id))}
            pairs = select(turns.c.thread_id, turns.c.ai).distinct()
            pairs = pairs.where(turns.c.thread_id.in_(ids), turns.c.ai.is_not(None)).order_by(turns.c.ai)
            answered = [(row[0], row[1]) for row in await conn.execute(pairs)]
        ais: dict[str, list[str]] = {}
        for thread_id, ai in answered:
            ais.setdefault(thread_id, []).append(ai)
        return [
            ThreadInfo(
                id=row["id"],
                title=decode_text(row["title"]),
                created=row["created"],
                last_activity=row["last_activity"],
                expires=row["expires"],
                turns=counts.get(row["id"], 0),
                ais=tuple(ais.get(row["id"], ())),
            )
            for row in rows
        ]

    @staticmethod
    def _alive(now: float) -> Any:
        return or_(threads_table.c.expires.is_(None), threads_table.c.expires >= now)


def _row(thread_id: str, seq: int, turn: NewTurn, now: float) -> dict[str, Any]:
    files = json.dumps(dict(turn.files), sort_keys=True) if turn.files else None
    return {
        "thread_id": thread_id,
        "seq": seq,
        "role": turn.role,
        "ai": turn.ai,
        "model": turn.model,
        "text": encode_text(turn.text),
        "created": now,
        "tool": turn.tool,
        "files": files,
    }


def _turn(row: Mapping[str, Any]) -> Turn:
    files = json.loads(row["files"]) if row["files"] else {}
    return Turn(**{**row, "text": decode_text(row["text"]), "files": files if isinstance(files, dict) else {}})


def _owned_by(owner: str | None) -> Any:
    """Only `owner`'s threads (over HTTP, each caller sees their own); None: every thread (one user)."""
    return true() if owner is None else threads_table.c.owner == owner


def _chars(turns: tuple[Turn, ...]) -> int:
    return sum(len(turn.text) for turn in turns)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
