"""A call's cost for one configured AI, and the short line that shows it under an answer.

price = price_for(route.config, completion, request.model)   # core.prices' order, for this AI
footer(result)   # "gemini-2.5-flash · 1,204 in (1,000 cached) / 311 out (200 reasoning) · $0.0011"
"""

from __future__ import annotations

import math

from ai.request import Completion, Request
from callers.fanout import AIResult
from core.config import AIConfig
from core.prices import Price, genai_provider, price_of, worst_case_usd

__all__ = ["dollars", "footer", "price_for", "worst_case_for"]

SEPARATOR = " · "
SMALLEST_USD = 0.000_001  # below this (but above 0), a cost shows as "<$0.000001"


def price_for(ai: AIConfig, completion: Completion, asked: str | None = None) -> Price:
    """What `completion` cost: `core.prices.price_of` with the AI's provider and configured prices.

    Args:
        ai: The AI that answered.
        completion: Its answer.
        asked: The model asked (None: the AI's model), looked up when the answer names another.
    """
    provider = genai_provider(ai.name, ai.builtin)
    return price_of(provider, completion.model, completion.usage, ai.prices, asked=asked or ai.model)


def worst_case_for(ai: AIConfig, request: Request) -> float | None:
    """The most `request` may cost at `ai`, estimated before it is sent (`core.prices.worst_case_usd`): its
    system prompt and every turn's text (images are not counted); None when the model cannot be priced."""
    chars = len(request.system or "") + sum(len(message.text) for message in request.messages)
    model = request.model or ai.model
    return worst_case_usd(genai_provider(ai.name, ai.builtin), model, chars, request.max_tokens, ai.prices)


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
