"""The spend panel's history: per UTC day of the last `HISTORY_DAYS`, what each AI's model was asked and what
it cost, and what each caller's calls cost (core/store/spend_days.py). server_status hands it to clients that
render MCP Apps in its result's `_meta` (`SPEND_HISTORY_META`), never in its structured content: a client
without Apps gets exactly what it always got. `/dashboard` embeds it beside server_status's structured content.

    history = await spend_history(app)                    # everyone's
    history = await spend_history(app, caller="alice")    # alice's calls alone (a caller who is not an admin)
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from callers import Junior
from core.errors import StoreUnavailable
from core.money.caps import window_start
from tools.spending import DAY_S

__all__ = ["HISTORY_DAYS", "SPEND_HISTORY_META", "CallerDayLine", "SpendDayLine", "SpendHistory", "spend_history"]

HISTORY_DAYS = 30  # today (UTC) and the 29 days before it
SPEND_HISTORY_META = "junior/spend-history"  # the key in a tool result's `_meta`


class SpendDayLine(BaseModel):
    """One AI's model on one UTC day ("YYYY-MM-DD"): its calls, failures, known cost, and the calls of unknown
    cost with what the caps count for them (their estimates)."""

    day: str
    ai: str
    model: str | None
    calls: int
    errors: int
    cost_usd: float
    unknown_cost_calls: int
    unknown_cost_usd: float


class CallerDayLine(BaseModel):
    """One caller's calls on one UTC day and their known cost; `caller` None: over stdio."""

    day: str
    caller: str | None
    calls: int
    cost_usd: float


class SpendHistory(BaseModel):
    """The last `days` UTC days (today the last), day by day; `note` says why they are empty when the store
    could not be read."""

    days: int = HISTORY_DAYS
    daily: list[SpendDayLine] = []
    callers_daily: list[CallerDayLine] = []
    note: str | None = None


async def spend_history(app: Junior, *, caller: str | None = None, now: float | None = None) -> SpendHistory:
    """The last `HISTORY_DAYS` days of the ledger; with `caller`, only that caller's calls (None: everyone's). A
    store that cannot be read is a note, never an error."""
    from core.store.spend_days import callers_by_day, spend_by_day  # SQLAlchemy: not on the start path

    now = time.time() if now is None else now
    since = window_start(now, "day") - (HISTORY_DAYS - 1) * DAY_S
    try:
        store = await app.store()
        daily = await spend_by_day(store, since=since, caller=caller)
        callers = await callers_by_day(store, since=since, caller=caller)
    except StoreUnavailable as error:
        return SpendHistory(note=f"spend unknown: {error}")
    return SpendHistory(
        daily=[SpendDayLine(**vars(row)) for row in daily],
        callers_daily=[CallerDayLine(**vars(row)) for row in callers],
    )
