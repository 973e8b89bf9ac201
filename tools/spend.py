"""What has been spent, for server_status: per AI and model for today, the last 7 days and all time (from
the ledger in the store, so the same for every server sharing it), per caller (over HTTP, a token's name)
for today and the last 7 days, and each cap with what is left."""

from __future__ import annotations

import time

from pydantic import BaseModel

from callers import Junior
from core.errors import StoreUnavailable
from core.money.caps import Cap, window_start
from tools.costs import dollars

__all__ = ["DAY_S", "CallerLine", "CapStatus", "SpendLine", "SpendReport", "render_spend", "spend_report"]

DAY_S = 86_400.0


class SpendLine(BaseModel):
    """One AI's model in one span: its calls and what they cost (known), how many had no known cost and what
    the caps count for those (their estimates), and how many of those were cancelled after being sent."""

    ai: str
    model: str | None
    calls: int
    errors: int
    cost_usd: float
    unknown_cost_calls: int
    unknown_cost_usd: float = 0.0
    cancelled: int = 0


class CallerLine(BaseModel):
    """One caller's calls in one span and what they cost (known); `caller` None: over stdio."""

    caller: str | None
    calls: int
    cost_usd: float


class CapStatus(BaseModel):
    """One cap: its limit, what its window has spent (and holds for calls in flight), what is left."""

    name: str
    limit_usd: float
    spent_usd: float
    left_usd: float


class SpendReport(BaseModel):
    """server_status's `spend`: today (UTC), the last 7 days, all time; the caps; the ledger's state."""

    today: list[SpendLine] = []
    last_7_days: list[SpendLine] = []
    all_time: list[SpendLine] = []
    callers_today: list[CallerLine] = []
    callers_last_7_days: list[CallerLine] = []
    caps: list[CapStatus] = []
    max_usd_per_call: float | None = None
    ledger_behind: int = 0
    note: str | None = None


def _caps(app: Junior) -> list[Cap]:
    budgets = app.settings.budgets
    if budgets is None:
        return []
    every = budgets.caps() + [cap for ai, own in budgets.per_ai.items() for cap in own.caps(ai)]
    return list({cap.name: cap for cap in every}.values())


async def spend_report(app: Junior) -> SpendReport:
    """Read the ledger; a store that cannot be read is a note, never an error."""
    report = SpendReport(max_usd_per_call=app.settings.max_usd_per_call, ledger_behind=app.ledger_behind)
    now = time.time()
    try:
        ledger = (await app.store()).ledger
        spans = {"today": window_start(now, "day"), "last_7_days": now - 7 * DAY_S, "all_time": 0.0}
        for span, since in spans.items():
            rows = await ledger.spend(since=since, now=now)
            lines = [SpendLine(**{name: getattr(row, name) for name in SpendLine.model_fields}) for row in rows]
            setattr(report, span, lines)
        for span in ("today", "last_7_days"):
            rows_by_caller = await ledger.spend_by_caller(since=spans[span])
            setattr(report, f"callers_{span}", [CallerLine(**vars(row)) for row in rows_by_caller])
        caps = _caps(app)
        spent = await ledger.spent(caps, now=now)
    except StoreUnavailable as error:
        report.note = f"spend unknown: {error}"
        return report
    report.caps = [
        CapStatus(
            name=cap.name,
            limit_usd=cap.limit_usd,
            spent_usd=spent[cap.name],
            left_usd=max(cap.limit_usd - spent[cap.name], 0.0),
        )
        for cap in caps
    ]
    return report


def _span(title: str, lines: list[SpendLine]) -> str:
    if not lines:
        return f"{title}: nothing"
    total = sum(line.cost_usd for line in lines)
    unknown = sum(line.unknown_cost_usd for line in lines)
    parts = []
    for line in lines:
        counts = [f"{line.calls} call{'' if line.calls == 1 else 's'}"]
        if line.errors:
            counts.append(f"{line.errors} failed")
        if line.cancelled:
            counts.append(f"{line.cancelled} cancelled after sending")
        # A failed call's cost is rarely known; a cancelled one's never is (said above).
        if unpriced := max(line.unknown_cost_calls - line.errors - line.cancelled, 0):
            counts.append(f"{unpriced} unpriced")
        if line.unknown_cost_usd:
            counts.append(f"{dollars(line.unknown_cost_usd)} counted for those of unknown cost")
        parts.append(f"{line.ai}:{line.model or '?'} {dollars(line.cost_usd)} ({', '.join(counts)})")
    # Calls of unknown cost (cancelled after sending, unpriced) count against the caps at their estimates.
    counted = f" + {dollars(unknown)} counted for calls of unknown cost" if unknown else ""
    return f"{title}: {dollars(total)}{counted} — " + "; ".join(parts)


def _caller_line(line: CallerLine) -> str:
    who = line.caller if line.caller is not None else "(stdio)"
    return f"{who} {dollars(line.cost_usd)} ({line.calls} call{'' if line.calls == 1 else 's'})"


def render_spend(report: SpendReport) -> str:
    """The spend section of server_status's text."""
    if report.note is not None:
        return report.note
    lines = [
        _span("spent today (UTC)", report.today),
        _span("last 7 days", report.last_7_days),
        _span("all time", report.all_time),
    ]
    for title, callers in (
        ("by caller today", report.callers_today),
        ("by caller, last 7 days", report.callers_last_7_days),
    ):
        if any(line.caller is not None for line in callers):  # over stdio alone, one person: nothing to split
            lines.append(f"{title}: " + "; ".join(_caller_line(line) for line in callers))
    for cap in report.caps:
        lines.append(
            f"cap {cap.name}: {dollars(cap.limit_usd)}, spent {dollars(cap.spent_usd)}, left {dollars(cap.left_usd)}"
        )
    if report.max_usd_per_call is not None:
        lines.append(f"cap per call: {dollars(report.max_usd_per_call)} (worst case, checked before sending)")
    if not report.caps and report.max_usd_per_call is None:
        lines.append('no spending caps (set "budgets" or JUNIOR_AI_DAILY_USD)')
    if report.ledger_behind:
        lines.append(f"the ledger is behind: {report.ledger_behind} calls could not be written (see the log)")
    return "\n".join(lines)
