"""The ledger in the store: one row per provider call (tool, thread, AI, model, tokens, cost, latency,
outcome), and the reservations that make the spending caps hold across tasks, processes and replicas.

    reservation = await store.ledger.reserve(
        caps=caps, ai="gemini", model="gemini-2.5-pro", tool="ask_ai", thread_id=None, estimate_usd=0.04
    )                                                       # BudgetExceeded: nothing is sent
    ... the call ...
    await store.ledger.settle(reservation, cost_usd=0.012, input_tokens=900, output_tokens=310, latency_s=2.4)

Without caps there is nothing to reserve: `record` writes the call's row after the answer.

What a cap's window counts, row by row (`counted`): a known cost; a settled call's estimate when its cost is
unknown (a provider that reports no usage, a model without a price, a call cancelled after it was sent:
counting nothing would let such calls spend without limit, and the estimate is the call's worst case, raised
to what it was seen to stream when that was more); a live reservation's estimate; nothing for a released
reservation without a cost (a call that failed, or was cancelled before it was sent), nor for one whose
process died (past `reserved_until`).

How a reservation is atomic: the check and the insert are one statement, `INSERT ... SELECT ... WHERE` each
cap's window sum plus the estimate is within the cap. On SQLite that statement begins the transaction as
IMMEDIATE (core/store/database.py), so it runs holding the file's write lock: no other process, and no other task of
this one (they take turns on the store's writer lock), writes between the sum and the insert. On PostgreSQL
the transaction first takes a transaction-scoped advisory lock (`LEDGER_LOCK_KEY`): reservations take turns
across every server sharing the database, and each statement's snapshot, taken after the lock, sees what
the previous holder committed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, and_, case, func, insert, literal, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.config import defaults
from core.money.caps import CAP_SLACK_USD, Cap, closest_cap, over_cap, window_start
from core.store.schema import ledger

T = TypeVar("T")

__all__ = ["LEDGER_LOCK_KEY", "CallerSpend", "Ledger", "LedgerStore", "SpendRow"]

# Any constant will do, other than core/store/database.py's MIGRATION_LOCK_KEY: it names the lock reservations take
# turns on (PostgreSQL).
LEDGER_LOCK_KEY = 0x4A554E494F524C  # "JUNIORL"
# Outcomes that are not failures: an answer, one cut off by its deadline (the text so far was returned), and
# a call cancelled because nobody waited for it any more (released when it was not sent yet, else settled).
NOT_ERRORS = ("ok", "partial", "cancelled")


class LedgerStore(Protocol):
    """What the ledger needs of the store (core/store/database.py's `Store`)."""

    clock: Callable[[], float]

    @property
    def backend(self) -> str: ...  # "sqlite" or "postgresql"

    def read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    def write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    async def batched(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T: ...

    async def batched_insert(self, table: Table, values: dict[str, Any]) -> None: ...

    async def batched_sync(self, operation: Callable[[Connection], T]) -> T: ...


@dataclass(frozen=True)
class CallerSpend:
    """What one caller's calls cost in a span of time: `caller` is a token's name over HTTP (None: calls
    made over stdio, or before callers were recorded), `calls` those that ran or failed, `cost_usd` their
    known cost."""

    caller: str | None
    calls: int
    cost_usd: float


@dataclass(frozen=True)
class SpendRow:
    """What one AI's model spent in a span of time.

    Attributes:
        ai: The AI's name.
        model: The model (None when the call did not say).
        calls: Calls that ran or failed (settled or released).
        errors: Those that failed: an outcome other than "ok", "partial" (cut off at its deadline, with
            the text so far) or "cancelled" (a call nobody waited for any more, as a quorum was reached).
        cost_usd: Their known cost.
        unknown_cost_calls: Settled calls whose cost is unknown (the caps count their estimate).
        input_tokens: Tokens sent, as the providers reported (unknown counts as 0); likewise the next three.
        output_tokens: Tokens answered.
        cached_tokens: Input tokens served from the provider's cache.
        reasoning_tokens: Output tokens spent thinking.
        reserved_usd: Estimates held for calls in flight.
        unknown_cost_usd: What the caps count for the calls of unknown cost: their estimates.
        cancelled: Of those, calls cancelled after they were sent (a quorum reached, a client that gave up).
    """

    ai: str
    model: str | None
    calls: int
    errors: int
    cost_usd: float
    unknown_cost_calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    reserved_usd: float
    unknown_cost_usd: float = 0.0
    cancelled: int = 0


class Ledger:
    """The ledger of one open store (`Store.ledger`)."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    async def reserve(
        self,
        *,
        caps: Sequence[Cap],
        ai: str,
        model: str | None,
        tool: str | None,
        thread_id: str | None,
        estimate_usd: float,
        caller: str | None = None,
        now: float | None = None,
        hold_s: float = defaults.RESERVATION_HOLD_S,
    ) -> int:
        """Hold a call's worst case against every cap, atomically, before it is sent; returns the
        reservation's id, to `settle` or `release` once the call is over. Until then its estimate counts
        against the caps, for at most `hold_s` seconds (should this process die first).

        Raises:
            BudgetExceeded: the estimate does not fit under one of the caps (the one that resets last is
                named); nothing was written.
            StoreUnavailable: the store cannot be written (with caps configured, the call must not be sent).
            ValueError: the estimate is negative or not a number.
        """
        now = self._store.clock() if now is None else now
        values = {
            "at": now,
            "tool": tool,
            "thread_id": thread_id,
            "caller": caller,
            "ai": ai,
            "model": model,
            "estimate_usd": _usd(estimate_usd, "estimate_usd"),
            "state": "reserved",
            "reserved_until": now + hold_s,
        }
        fits = [_spent(cap, now) + estimate_usd <= cap.limit_usd + CAP_SLACK_USD for cap in caps]
        row = select(*(literal(value, ledger.c[key].type).label(key) for key, value in values.items()))
        statement = insert(ledger).from_select(list(values), row.where(and_(true(), *fits))).returning(ledger.c.id)
        postgresql = self._store.backend == "postgresql"

        def write(conn: Connection) -> int | Sequence[Any]:  # in one worker-thread call on SQLite (batched_sync)
            if caps and postgresql:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
            reserved = conn.scalar(statement)
            if reserved is not None:
                return int(reserved)
            # Refused: what each window holds, read under the same lock (so the same sums as the insert saw).
            return tuple(conn.execute(select(*(_spent(cap, now) for cap in caps))).one())

        sums = await self._store.batched_sync(write)
        if isinstance(sums, int):
            return sums
        spent = [(cap, float(used)) for cap, used in zip(caps, sums, strict=True)]
        raise over_cap(spent, estimate_usd, now) or closest_cap(spent, estimate_usd, now)

    async def settle(
        self,
        reservation_id: int,
        *,
        cost_usd: float | None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        outcome: str = "ok",
        latency_s: float | None = None,
        model: str | None = None,
        estimate_usd: float | None = None,
        streamed_tokens: int | None = None,
        note: str | None = None,
    ) -> bool:
        """Record what a reserved call cost (None: unknown, and its estimate keeps counting) and how it
        ended; its reservation stops counting. `model`, when given, replaces the one reserved (a router
        that picked one); `estimate_usd` the estimate reserved (what the caps count while the cost is
        unknown: more, when the call was seen to stream more than its worst case). A call cancelled after
        it was sent is settled so, with `cost_usd` None. False when there was no open reservation
        `reservation_id` (settled or released).

        Raises:
            StoreUnavailable: the store cannot be written.
            ValueError: the cost or estimate is negative or not a number.
        """
        values: dict[str, Any] = {
            "state": "settled",
            "cost_usd": _usd(cost_usd, "cost_usd"),
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cached_tokens": cached_tokens,
            "reasoning_tokens": reasoning_tokens,
            "outcome": outcome,
            "latency_s": latency_s,
            "streamed_tokens": streamed_tokens,
            "note": note,
        }
        if model is not None:
            values["model"] = model
        if estimate_usd is not None:
            values["estimate_usd"] = _usd(estimate_usd, "estimate_usd")
        return await self._close(reservation_id, values)

    async def release(
        self, reservation_id: int, outcome: str, *, cost_usd: float | None = None, latency_s: float | None = None
    ) -> bool:
        """End a reservation whose call failed: its estimate stops counting. A call that failed before
        anything was sent spent nothing; one the provider failed after it was sent may still have cost
        something: give `cost_usd` when it is known. False as for `settle`.

        Raises:
            StoreUnavailable: the store cannot be written.
            ValueError: the cost is negative or not a number.
        """
        values = {"state": "released", "cost_usd": _usd(cost_usd, "cost_usd"), "outcome": outcome}
        return await self._close(reservation_id, {**values, "latency_s": latency_s})

    async def record(
        self,
        *,
        ai: str,
        model: str | None,
        tool: str | None,
        thread_id: str | None,
        caller: str | None = None,
        cost_usd: float | None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        outcome: str = "ok",
        latency_s: float | None = None,
        estimate_usd: float = 0.0,
        streamed_tokens: int | None = None,
        note: str | None = None,
        now: float | None = None,
    ) -> None:
        """Write one call's row, settled, without a reservation (no caps: nothing was held); returns once
        committed. `estimate_usd` is what a later cap counts while `cost_usd` is unknown.

        Raises:
            StoreUnavailable: the store cannot be written.
            ValueError: a cost or estimate is negative or not a number.
        """
        values = {
            "at": self._store.clock() if now is None else now,
            "tool": tool,
            "thread_id": thread_id,
            "caller": caller,
            "ai": ai,
            "model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cached_tokens": cached_tokens,
            "reasoning_tokens": reasoning_tokens,
            "cost_usd": _usd(cost_usd, "cost_usd"),
            "estimate_usd": _usd(estimate_usd, "estimate_usd"),
            "state": "settled",
            "outcome": outcome,
            "latency_s": latency_s,
            "streamed_tokens": streamed_tokens,
            "note": note,
        }
        await self._store.batched_insert(ledger, values)  # rows after answers: one statement per batch

    async def spent(self, caps: Sequence[Cap], *, now: float | None = None) -> dict[str, float]:
        """What each cap's window counts now (spent, and held for calls in flight), by the cap's name.

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        if not caps:
            return {}
        now = self._store.clock() if now is None else now
        async with self._store.read() as conn:  # one statement: the sums agree with one another
            sums = (await conn.execute(select(*(_spent(cap, now) for cap in caps)))).one()
        return {cap.name: float(value) for cap, value in zip(caps, sums, strict=True)}

    async def spend(
        self, *, since: float, until: float | None = None, now: float | None = None, caller: str | None = None
    ) -> list[SpendRow]:
        """What the calls made from `since` until `until` (None: now) cost, by AI and model; with `caller`, only
        that caller's calls (None: everyone's).

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        now = self._store.clock() if now is None else now
        done = ledger.c.state != "reserved"
        live = and_(ledger.c.state == "reserved", ledger.c.reserved_until > now)
        unknown = and_(ledger.c.state == "settled", ledger.c.cost_usd.is_(None))
        tokens = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")
        query = select(
            ledger.c.ai,
            ledger.c.model,
            _count(done).label("calls"),
            _count(and_(done, func.coalesce(ledger.c.outcome, "ok").not_in(NOT_ERRORS))).label("errors"),
            func.coalesce(func.sum(ledger.c.cost_usd), 0.0).label("cost_usd"),
            _count(unknown).label("unknown_cost_calls"),
            func.coalesce(func.sum(case((unknown, ledger.c.estimate_usd), else_=0.0)), 0.0).label("unknown_cost_usd"),
            _count(and_(ledger.c.state == "settled", ledger.c.outcome == "cancelled")).label("cancelled"),
            *(func.coalesce(func.sum(ledger.c[name]), 0).label(name) for name in tokens),
            func.coalesce(func.sum(case((live, ledger.c.estimate_usd), else_=0.0)), 0.0).label("reserved_usd"),
        ).where(ledger.c.at >= since)
        if until is not None:
            query = query.where(ledger.c.at < until)
        if caller is not None:
            query = query.where(ledger.c.caller == caller)
        query = query.group_by(ledger.c.ai, ledger.c.model).order_by(ledger.c.ai, ledger.c.model)
        async with self._store.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        spent = [SpendRow(**row) for row in rows]
        return [row for row in spent if row.calls or row.reserved_usd]

    async def spend_by_caller(self, *, since: float, caller: str | None = None) -> list[CallerSpend]:
        """What each caller's calls since `since` cost, the most expensive first; with `caller`, that caller's
        alone.

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        done = ledger.c.state != "reserved"
        cost = func.coalesce(func.sum(ledger.c.cost_usd), 0.0)
        query = (
            select(ledger.c.caller, _count(done).label("calls"), cost.label("cost_usd"))
            .where(ledger.c.at >= since, done, *([] if caller is None else [ledger.c.caller == caller]))
            .group_by(ledger.c.caller)
            .order_by(cost.desc(), ledger.c.caller)
        )
        async with self._store.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [CallerSpend(**row) for row in rows]

    async def _close(self, reservation_id: int, values: dict[str, Any]) -> bool:
        still_open = and_(ledger.c.id == reservation_id, ledger.c.state == "reserved")

        def write(conn: Connection) -> bool:  # in one worker-thread call on SQLite (batched_sync)
            closed = conn.execute(update(ledger).where(still_open).values(reserved_until=None, **values))
            return bool(closed.rowcount)

        return await self._store.batched_sync(write)


def _counted(now: float) -> ColumnElement[Any]:
    """What one row counts against a cap's window at `now` (see the module's docstring)."""
    live = and_(ledger.c.state == "reserved", ledger.c.reserved_until > now)
    return case(
        (ledger.c.cost_usd.is_not(None), ledger.c.cost_usd),
        (ledger.c.state == "settled", ledger.c.estimate_usd),
        (live, ledger.c.estimate_usd),
        else_=0.0,
    )


def _spent(cap: Cap, now: float) -> Any:
    """The sum `cap`'s window counts at `now`, as a scalar subquery."""
    query = select(func.coalesce(func.sum(_counted(now)), 0.0)).where(ledger.c.at >= window_start(now, cap.window))
    if cap.ai is not None:
        query = query.where(ledger.c.ai == cap.ai)
    return query.scalar_subquery()


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _usd(amount: float | None, name: str) -> float | None:
    if amount is not None and not (math.isfinite(amount) and amount >= 0):
        raise ValueError(f"{name} must be a non-negative number of US dollars, not {amount!r}")
    return amount
