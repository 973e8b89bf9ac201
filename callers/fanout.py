"""The fan-out: several AIs at once, each through the resilient single call; total time ≈ the slowest.

results = await ask_all(app, ["gemini", "grok"], Request("Review this", deadline=30))

With `enough`, a predicate checked as each AI finishes, the fan-out ends early: once it holds, the AIs
still asked are cancelled (their HTTP requests closed) and left out of the results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace

import anyio
from pydantic import BaseModel

from ai.request import Completion, Message, Request, Usage
from callers.app import Junior, Route
from callers.call import completed
from callers.progress import Report, TokenProgress
from core.errors import JuniorAIError, ProviderError
from core.money.prices import Price, PriceSource

__all__ = ["AIResult", "Enough", "History", "OnResult", "ask_all", "ask_each", "ask_routes"]

logger = logging.getLogger("junior_ai.fanout")


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


# Awaited as each AI finishes (progress: "grok answered in 1.2 s").
OnResult = Callable[[AIResult], Awaitable[None]]
# What each AI sees before its prompt: a thread's earlier turns, fitted to it (callers/history.py).
History = Callable[[Route], tuple[Message, ...]]
# Checked as each AI finishes, with the results so far in the order they came: True ends the fan-out, and
# the AIs still asked are cancelled ("2 answers are enough", "the vote is decided").
Enough = Callable[[list[AIResult]], bool]


async def ask_each(
    app: Junior,
    requests: Mapping[str, Request],
    on_result: OnResult | None = None,
    *,
    history: History | None = None,
    enough: Enough | None = None,
    on_progress: Report | None = None,
) -> list[AIResult]:
    """Ask each AI its own request, all at once; one `AIResult` per AI, in the order given (without the
    AIs cancelled once `enough` held).

    Each call ends by its request's deadline (retries and waiting for a slot included), and an AI still
    unanswered then is marked timed out, or `partial` with the text it had streamed; one AI's failure
    never loses the others' answers. `on_progress` hears the tokens streamed so far per AI, at most every
    `callers.progress.PROGRESS_EVERY_S` ("grok: 320 tokens, gemini: 80 tokens").

    Raises:
        NoAIConfigured, UnknownAI, AIUnavailable: before any AI is asked, when a name is wrong.
    """
    calls = [(app.route(name), request) for name, request in requests.items()]
    return await _fan_out(app, calls, on_result, history, enough, on_progress)


async def ask_all(
    app: Junior,
    names: Iterable[str] | None,
    request: Request,
    on_result: OnResult | None = None,
    *,
    history: History | None = None,
    enough: Enough | None = None,
    on_progress: Report | None = None,
) -> list[AIResult]:
    """Ask several AIs (every usable one when `names` is None) the same request at once (as `ask_each`).

    Raises:
        NoAIConfigured, UnknownAI, AIUnavailable: before any AI is asked, when the names are wrong.
    """
    return await ask_routes(
        app, app.select(names), request, on_result, history=history, enough=enough, on_progress=on_progress
    )


async def ask_routes(
    app: Junior,
    routes: Iterable[Route],
    request: Request,
    on_result: OnResult | None = None,
    *,
    history: History | None = None,
    enough: Enough | None = None,
    on_progress: Report | None = None,
) -> list[AIResult]:
    """`ask_all` for AIs already checked (`Junior.select`)."""
    return await _fan_out(app, [(route, request) for route in routes], on_result, history, enough, on_progress)


async def _fan_out(
    app: Junior,
    calls: list[tuple[Route, Request]],
    on_result: OnResult | None,
    history: History | None,
    enough: Enough | None = None,
    on_progress: Report | None = None,
) -> list[AIResult]:
    results: dict[str, AIResult] = {}
    started = time.perf_counter()
    tokens = TokenProgress(on_progress, app.clock) if on_progress is not None else None

    async def ask(route: Route, request: Request) -> None:
        if history is not None:
            request = replace(request, history=(*history(route), *request.history))
        try:
            counter = tokens.counter(route.label) if tokens is not None else None
            completion = await completed(app, route, request, on_tokens=counter)
        except JuniorAIError as error:
            result = AIResult.failed(route.label, request.model or route.model, error, started)
        except Exception as error:  # a bug in one AI's path must not lose the others' answers
            logger.exception("%s: unexpected error", route.label)
            result = AIResult.failed(route.label, request.model or route.model, error, started)
        else:
            result = AIResult.answered(route.label, completion, started)
        results[route.label] = result
        if tokens is not None:
            tokens.finished(route.label)
        if on_result is not None:
            await on_result(result)
        if enough is not None and len(results) < len(calls) and enough(list(results.values())):
            group.cancel_scope.cancel()  # the calls still running end now, their requests closed upstream

    async with anyio.create_task_group() as group:
        for route, request in calls:
            group.start_soon(ask, route, request)
    return [results[route.label] for route, _ in calls if route.label in results]
