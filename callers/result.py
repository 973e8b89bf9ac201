"""One AI's part of a call, as every tool, collaboration and the seed's API report it: `AIResult`."""

from __future__ import annotations

import time

from pydantic import BaseModel

from ai.request import Completion, Usage
from core.errors import JuniorAIError, ProviderError
from core.money.prices import Price, PriceSource

__all__ = ["AIResult"]


class AIResult(BaseModel):
    """One AI's part of a multi-AI call: its answer (`ok`, `text`) or its error (`error`, `error_kind`).

    Attributes:
        ai: The AI's configured name, or `name:model` when the call picked the model.
        model: The model that answered (or was asked, on failure).
        ok: Whether an answer arrived.
        text: The answer, when `ok`.
        error: What went wrong, in one line, when not `ok`.
        error_kind: The error's kind ("timeout", "rate_limited", "auth", ...; see core.errors).
        status_code: The provider's HTTP status on failure, when an HTTP answer arrived.
        latency_s: Seconds from the start of the fan-out to this AI's outcome.
        input_tokens: Tokens the provider counted in the request, when it said.
        output_tokens: Tokens the provider counted in the answer (reasoning included), when it said.
        cached_tokens: Of the input, tokens read from the provider's cache, when it said.
        reasoning_tokens: Of the output, tokens spent on reasoning, when it said.
        cost_usd: What the answer cost, in US dollars; None when it is not known (never 0 for unknown).
        cost_source: Who priced it: "provider" (its own figure), "override" (configured), "genai-prices".
        partial: True when a time limit or `max_answer_bytes` cut the answer off: `text` is what had arrived
            by then.
    """

    ai: str
    model: str
    ok: bool
    text: str | None = None
    error: str | None = None
    error_kind: str | None = None
    status_code: int | None = None
    latency_s: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    cost_source: PriceSource | None = None
    partial: bool = False

    def describe(self) -> str:
        """One line for progress messages: "grok answered in 1.2 s" / "grok failed (timeout)"."""
        if self.partial:
            return f"{self.ai} was cut off after {self.latency_s:.1f} s (partial answer)"
        if self.ok:
            return f"{self.ai} answered in {self.latency_s:.1f} s"
        return f"{self.ai} failed ({self.error_kind})"

    @classmethod
    def answered(cls, name: str, completion: Completion, started: float, price: Price | None = None) -> AIResult:
        """The result for an answer that arrived; `started` is the call's `time.perf_counter()`, `price`
        what the answer cost (default: the completion's own, as the caller priced it)."""
        price = price or completion.price
        usage = completion.usage or Usage()
        return cls(
            ai=name,
            model=completion.model,
            ok=True,
            text=completion.text,
            latency_s=round(time.perf_counter() - started, 3),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost_usd=price.usd,
            cost_source=price.source if price.usd is not None else None,
            partial=completion.partial,
        )

    @classmethod
    def failed(cls, name: str, model: str, error: BaseException, started: float) -> AIResult:
        """The result for a call that ended in `error`; internals of an unexpected error stay out."""
        status = None
        if isinstance(error, ProviderError):
            message, kind, status = error.detail, error.kind, error.status_code
        elif isinstance(error, JuniorAIError):  # BudgetExceeded says "budget_exceeded"; the others, "unavailable"
            message, kind = str(error), str(getattr(error, "kind", "unavailable"))
        else:
            message, kind = f"internal error ({type(error).__name__})", "internal"
        latency = round(time.perf_counter() - started, 3)
        return cls(
            ai=name, model=model, ok=False, error=message, error_kind=kind, status_code=status, latency_s=latency
        )
