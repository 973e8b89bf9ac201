"""What a call cost, as the user reads it: one short line under each answer, dollars as people write them.

footer(result)   # "gemini-2.5-flash · 1,204 in (1,000 cached) / 311 out (200 reasoning) · $0.0011"
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from callers import AIResult

__all__ = ["SEPARATOR", "dollars", "footer", "results_in", "total_cost", "total_line"]

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
