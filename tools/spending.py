"""Money as the user reads it: the cost line under each answer (dollars as people write them), and what
has been spent, for server_status: per AI and model for today, the last 7 days and all time (from the
ledger in the store, so the same for every server sharing it), per caller (over HTTP, a token's name) for
today and the last 7 days, and each cap with what is left.

footer(result)   # "gemini-2.5-flash · 1,204 in (1,000 cached) / 311 out (200 reasoning) · $0.0011"
"""

from __future__ import annotations

import math
import time
from typing import Any

from pydantic import BaseModel

from callers import AIResult, Junior
from core.errors import StoreUnavailable
from core.money.caps import Cap, window_start

__all__ = [
    "DAY_S",
    "SEPARATOR",
    "CallerLine",
    "CapStatus",
    "SpendLine",
    "SpendReport",
    "dollars",
    "footer",
    "render_spend",
    "results_in",
    "spend_report",
    "total_cost",
    "total_line",
]

SEPARATOR = " · "
SMALLEST_USD = 0.000_001  # below this (but above 0), a cost shows as "<$0.000001"


def footer(result: AIResult) -> str:
    """One short line: the model, the tokens the provider counted (left out when it did not say; the
    cached and reasoning parts only when there are any) and the cost ("cost unknown" when nobody knows).

    >>> footer(AIResult(ai="g", model="m", ok=True, latency_s=1, input_tokens=1204, output_tokens=311,
    ...                 cost_usd=0.0011))
    'm · 1,204 in / 311 out · $0.0011'
    """
    parts = [result.model]
    tokens = [
        _count(result.input_tokens, "in", result.cached_tokens, "cached"),
        _count(result.output_tokens, "out", result.reasoning_tokens, "reasoning"),
    ]
    if shown := [part for part in tokens if part]:
        parts.append(" / ".join(shown))
    parts.append("cost unknown" if result.cost_usd is None else dollars(result.cost_usd))
    return SEPARATOR.join(parts)


def dollars(usd: float) -> str:
    """An amount as people read one: two significant digits below a dollar ("$0.0011", "$0.042"), cents
    from a dollar up ("$12.50", "$1,234.00"), "$0" for nothing and "<$0.000001" for less than that."""
    if usd <= 0:
        return "$0"
    if usd < SMALLEST_USD:
        return "<$0.000001"
    if usd >= 1:
        return f"${usd:,.2f}"
    places = max(2, 1 - math.floor(math.log10(usd)))
    return f"${usd:.{places}f}"


def _count(total: int | None, what: str, part: int | None, kind: str) -> str:
    if total is None:
        return ""
    detail = f" ({part:,} {kind})" if part else ""
    return f"{total:,} {what}{detail}"


def results_in(structured: Any) -> list[AIResult]:
    """Every AI's result inside a tool's structured content (a debate's rounds, a solve's proposals...)."""
    if isinstance(structured, AIResult):
        return [structured]
    if isinstance(structured, BaseModel):
        return [found for name in type(structured).model_fields for found in results_in(getattr(structured, name))]
    if isinstance(structured, list | tuple):
        return [found for item in structured for found in results_in(item)]
    return []


def total_cost(results: list[AIResult]) -> float | None:
    """What the answers that arrived cost together, as far as known (None when no cost is known)."""
    known = [result.cost_usd for result in results if result.ok and result.cost_usd is not None]
    return sum(known) if known else None


def total_line(results: list[AIResult]) -> str:
    """ "Cost: $0.0042 for 4 answers (unknown for ollama)": the call's total, and who could not be priced."""
    answered = [result for result in results if result.ok]
    unknown = sorted({result.ai for result in answered if result.cost_usd is None})
    total = total_cost(answered)
    line = f"Cost: {dollars(total) if total is not None else 'unknown'} for {len(answered)} answer"
    line += "" if len(answered) == 1 else "s"
    if unknown and total is not None:
        line += f" (unknown for {', '.join(unknown)})"
    return line


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


async def spend_report(app: Junior, *, caller: str | None = None) -> SpendReport:
    """Read the ledger; a store that cannot be read is a note, never an error. With `caller`, the spend lines
    count only that caller's calls (the caps still count everyone's: they hold for everyone)."""
    report = SpendReport(max_usd_per_call=app.settings.max_usd_per_call, ledger_behind=app.ledger_behind)
    now = time.time()
    try:
        ledger = (await app.store()).ledger
        spans = {"today": window_start(now, "day"), "last_7_days": now - 7 * DAY_S, "all_time": 0.0}
        for span, since in spans.items():
            rows = await ledger.spend(since=since, now=now, caller=caller)
            lines = [SpendLine(**{name: getattr(row, name) for name in SpendLine.model_fields}) for row in rows]
            setattr(report, span, lines)
        for span in ("today", "last_7_days"):
            rows_by_caller = await ledger.spend_by_caller(since=spans[span], caller=caller)
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
