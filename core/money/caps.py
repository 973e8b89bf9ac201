"""Spending caps: what the configuration says (`"budgets"`, `max_usd_per_call`), the caps one call is held
to, and their windows in UTC.

    "max_usd_per_call": 0.25,
    "budgets": {"daily_usd": 5, "monthly_usd": 50, "per_ai": {"gemini": {"daily_usd": 1}}}

A call to gemini is then held to four caps: `daily` ($5 a day, every AI together), `monthly`, and
`daily:gemini` ($1 a day for gemini alone); the store's ledger (core/store/ledger.py) checks them all at
once when it reserves the call's worst case. A day runs from 00:00 UTC, a month from the 1st at 00:00 UTC.
"""

from __future__ import annotations

import calendar
import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import BudgetExceeded

__all__ = [
    "CAP_SLACK_USD",
    "AIBudget",
    "Budgets",
    "Cap",
    "Window",
    "check_call_cost",
    "closest_cap",
    "over_cap",
    "resets_at",
    "window_start",
    "with_daily_usd",
]

# Sums of floats drift (0.01 added 37 times is not 0.37): a cap is reached only when exceeded by more than
# this, far below any call's price.
CAP_SLACK_USD = 1e-9

Window = Literal["day", "month"]
# Each setting of a scope: its field, its window, and how its cap is named.
_SCOPE_CAPS: tuple[tuple[str, Window, str], ...] = (("daily_usd", "day", "daily"), ("monthly_usd", "month", "monthly"))


@dataclass(frozen=True)
class Cap:
    """One cap a call is held to.

    Attributes:
        name: How messages and status name it: "daily", "monthly", "daily:gemini", "monthly:gemini".
        limit_usd: What may be spent in one window, in US dollars.
        window: "day" or "month" (UTC).
        ai: The AI whose calls alone count against it; None: every AI's.
    """

    name: str
    limit_usd: float
    window: Window
    ai: str | None = None


class AIBudget(BaseModel):
    """The caps of one scope (every AI together, or one AI): US dollars per UTC day and month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    monthly_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return _check_keys(data, cls.model_fields)

    def caps(self, ai: str | None = None) -> list[Cap]:
        """This scope's caps (those set), named with the AI's name for an AI's own."""
        found = []
        for field, window, name in _SCOPE_CAPS:
            limit = getattr(self, field)
            if limit is not None:
                found.append(Cap(name if ai is None else f"{name}:{ai}", float(limit), window, ai))
        return found


class Budgets(AIBudget):
    """The `"budgets"` setting: the caps on every AI together, and each named AI's own (`per_ai`)."""

    per_ai: dict[str, AIBudget] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _lowercase_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("per_ai"), dict):
            return {**data, "per_ai": {str(name).lower(): value for name, value in data["per_ai"].items()}}
        return data

    @property
    def capped(self) -> bool:
        """Whether any cap is set, common or an AI's own."""
        return bool(self.caps()) or any(own.caps() for own in self.per_ai.values())

    def caps_for(self, ai: str) -> list[Cap]:
        """The caps a call to `ai` is held to: the common ones, then the AI's own."""
        own = self.per_ai.get(ai)
        return self.caps() + (own.caps(ai) if own is not None else [])

    def misnamed_ais(self, known: Sequence[str]) -> list[str]:
        """A problem for each AI `per_ai` names that is not among `known` (a misspelt name caps nothing)."""
        problems = []
        for name in self.per_ai:
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
                hint = f"did you mean {close[0]!r}?" if close else f"AIs: {', '.join(known)}"
                problems.append(f"budgets.per_ai: {name!r} is not an AI; {hint}")
        return problems


def with_daily_usd(budgets: Any, daily_usd: str) -> Any:
    """The `"budgets"` setting as read (an object, JSON text from the environment, or None) with `daily_usd`
    (JUNIOR_AI_DAILY_USD) as its common daily cap; the settings' validation checks the rest.

    Raises:
        ValueError: the setting is neither an object nor JSON text of one.
    """
    if isinstance(budgets, str):
        try:
            budgets = json.loads(budgets)
        except json.JSONDecodeError:
            raise ValueError("not a JSON object") from None
    if budgets is None:
        return {"daily_usd": daily_usd}
    if not isinstance(budgets, dict):
        raise ValueError("not a JSON object")
    return {**budgets, "daily_usd": daily_usd}


def _check_keys(data: Any, valid: dict[str, Any]) -> Any:
    if isinstance(data, dict):
        unknown = sorted(str(key) for key in data if key not in valid)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return data


def window_start(now: float, window: Window) -> float:
    """When the window holding `now` began: that day's 00:00 UTC, or its month's 1st at 00:00 UTC (epoch s)."""
    moment = datetime.fromtimestamp(now, UTC)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "month":
        start = start.replace(day=1)
    return start.timestamp()


def resets_at(now: float, window: Window) -> float:
    """When the window holding `now` ends and the next begins: the next 00:00 UTC, or the next month's 1st."""
    start = datetime.fromtimestamp(window_start(now, window), UTC)
    if window == "day":
        return start.timestamp() + 86_400
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


def check_call_cost(estimate_usd: float, max_usd_per_call: float | None) -> None:
    """Hold a call's worst case to `max_usd_per_call` (None: no such cap), before anything is sent.

    Raises:
        BudgetExceeded: the call may cost more than the cap (its `cap` is "per-call").
    """
    if max_usd_per_call is not None and estimate_usd > max_usd_per_call:
        raise BudgetExceeded("per-call", max_usd_per_call, 0.0, estimate_usd, None)


def over_cap(spent: Sequence[tuple[Cap, float]], estimate_usd: float, now: float) -> BudgetExceeded | None:
    """The error for a call of `estimate_usd` against caps whose windows have `spent` so far: None when it
    fits under every cap; else naming, of the caps it does not fit under, the one that resets last (the
    call cannot go before then)."""
    over = [(cap, used) for cap, used in spent if used + estimate_usd > cap.limit_usd + CAP_SLACK_USD]
    if not over:
        return None
    cap, used = max(over, key=lambda pair: resets_at(now, pair[0].window))  # the first of equals
    return BudgetExceeded(cap.name, cap.limit_usd, used, estimate_usd, resets_at(now, cap.window))


def closest_cap(spent: Sequence[tuple[Cap, float]], estimate_usd: float, now: float) -> BudgetExceeded:
    """The cap with the least room left: should the sums disagree with the insert (they cannot, under the
    lock), the call is refused all the same."""
    cap, used = min(spent, key=lambda pair: pair[0].limit_usd - pair[1])
    return BudgetExceeded(cap.name, cap.limit_usd, used, estimate_usd, resets_at(now, cap.window))
