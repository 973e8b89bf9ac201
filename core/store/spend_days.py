"""The ledger day by day, for the spend panel's chart: per UTC day, what each AI's model was asked and what it
cost, and per day, what each caller's calls cost. One query each, on SQLite and PostgreSQL alike.

    rows = await spend_by_day(store, since=window_start(now, "day") - 29 * DAY_S)          # everyone's
    mine = await spend_by_day(store, since=..., caller="alice")                            # alice's calls only
    who = await callers_by_day(store, since=...)

Only calls that are over count (settled or released): a reservation in flight is not a day's spend yet. The
counts mean what they mean in `Ledger.spend` (core/store/ledger.py): `errors` are outcomes other than ok,
partial and cancelled; `unknown_cost_usd` is what the caps count for settled calls of unknown cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, func, literal_column, select

from core.store.ledger import NOT_ERRORS, LedgerStore
from core.store.schema import ledger

__all__ = ["DAY_S", "CallerDay", "SpendDay", "callers_by_day", "day_of", "spend_by_day"]

DAY_S = 86_400


@dataclass(frozen=True)
class SpendDay:
    """What one AI's model was asked on one UTC day (`day`: "YYYY-MM-DD") and what it cost."""

    day: str
    ai: str
    model: str | None
    calls: int
    errors: int
    cost_usd: float
    unknown_cost_calls: int
    unknown_cost_usd: float


@dataclass(frozen=True)
class CallerDay:
    """What one caller's calls (None: over stdio) cost on one UTC day."""

    day: str
    caller: str | None
    calls: int
    cost_usd: float


def day_of(index: int) -> str:
    """The UTC date of the day `index` days after 1970-01-01, as "YYYY-MM-DD".

    >>> day_of(20_000)
    '2024-10-04'
    """
    return datetime.fromtimestamp(index * DAY_S, UTC).strftime("%Y-%m-%d")


async def spend_by_day(
    store: LedgerStore, *, since: float, until: float | None = None, caller: str | None = None
) -> list[SpendDay]:
    """The calls made from `since` until `until` (None: no end), by UTC day, AI and model, in that order;
    with `caller`, only that caller's calls (None: everyone's).

    Raises:
        StoreUnavailable: the store cannot be read.
    """
    day = _day(store.backend)
    unknown = and_(ledger.c.state == "settled", ledger.c.cost_usd.is_(None))
    query = (
        select(
            day.label("day"),
            ledger.c.ai,
            ledger.c.model,
            func.count().label("calls"),
            _count(func.coalesce(ledger.c.outcome, "ok").not_in(NOT_ERRORS)).label("errors"),
            func.coalesce(func.sum(ledger.c.cost_usd), 0.0).label("cost_usd"),
            _count(unknown).label("unknown_cost_calls"),
            func.coalesce(func.sum(case((unknown, ledger.c.estimate_usd), else_=0.0)), 0.0).label("unknown_cost_usd"),
        )
        .where(*_over(since, until, caller))
        .group_by(day, ledger.c.ai, ledger.c.model)
    )
    async with store.read() as conn:
        rows = (await conn.execute(query)).mappings().all()
    found = [
        SpendDay(
            day=day_of(int(row["day"])),
            ai=row["ai"],
            model=row["model"],
            calls=int(row["calls"]),
            errors=int(row["errors"]),
            cost_usd=float(row["cost_usd"]),
            unknown_cost_calls=int(row["unknown_cost_calls"]),
            unknown_cost_usd=float(row["unknown_cost_usd"]),
        )
        for row in rows
    ]
    # Sorted here: the two databases put a null model in different places.
    return sorted(found, key=lambda row: (row.day, row.ai, row.model is not None, row.model or ""))


async def callers_by_day(
    store: LedgerStore, *, since: float, until: float | None = None, caller: str | None = None
) -> list[CallerDay]:
    """What each caller's calls from `since` until `until` cost, by UTC day and caller (stdio's first); with
    `caller`, only that caller's.

    Raises:
        StoreUnavailable: the store cannot be read.
    """
    day = _day(store.backend)
    query = (
        select(
            day.label("day"),
            ledger.c.caller,
            func.count().label("calls"),
            func.coalesce(func.sum(ledger.c.cost_usd), 0.0).label("cost_usd"),
        )
        .where(*_over(since, until, caller))
        .group_by(day, ledger.c.caller)
    )
    async with store.read() as conn:
        rows = (await conn.execute(query)).mappings().all()
    found = [
        CallerDay(
            day=day_of(int(row["day"])), caller=row["caller"], calls=int(row["calls"]), cost_usd=float(row["cost_usd"])
        )
        for row in rows
    ]
    return sorted(found, key=lambda row: (row.day, row.caller is not None, row.caller or ""))


def _day(backend: str) -> ColumnElement[Any]:
    """The UTC day of a row, as days since 1970-01-01. The divisor is literal SQL, not a parameter: PostgreSQL
    matches the GROUP BY to the selected expression by its text, and two parameters are two texts."""
    days = ledger.c.at / literal_column(f"{DAY_S}.0")
    # SQLite's CAST truncates (and `at` is never negative); PostgreSQL's rounds, so floor first there.
    return cast(func.floor(days) if backend == "postgresql" else days, BigInteger)


def _over(since: float, until: float | None, caller: str | None) -> list[ColumnElement[bool]]:
    conditions = [ledger.c.at >= since, ledger.c.state != "reserved"]
    if until is not None:
        conditions.append(ledger.c.at < until)
    if caller is not None:
        conditions.append(ledger.c.caller == caller)
    return conditions


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
