"""The fan-out: several AIs at once, each through the resilient single call; total time ≈ the slowest.

results = await ask_all(app, ["gemini", "grok"], Request("Review this", deadline=30))

With `enough`, a predicate checked as each AI finishes, the fan-out ends early: once it holds, the AIs
still asked are cancelled (their HTTP requests closed) and left out of the results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

import anyio

from ai.request import Message, Request
from callers.app import Junior, Route
from callers.call import ask_route
from callers.jobs import received
from callers.progress import Report, TokenProgress
from callers.result import AIResult
from core.errors import JuniorAIError

__all__ = ["AIResult", "Enough", "History", "OnResult", "ask_all", "ask_each", "ask_routes", "with_history"]

logger = logging.getLogger("junior_ai.fanout")


# Awaited as each AI finishes (progress: "grok answered in 1.2 s").
OnResult = Callable[[AIResult], Awaitable[None]]
# What each AI sees before its prompt: a thread's earlier turns, fitted to it (callers/history.py).
History = Callable[[Route], tuple[Message, ...]]
# Checked as each AI finishes, with the results so far in the order they came: True ends the fan-out, and
# the AIs still asked are cancelled ("2 answers are enough", "the vote is decided").
Enough = Callable[[list[AIResult]], bool]


def with_history(request: Request, route: Route, history: History | None) -> Request:
    """`request` with what `route` sees of the thread (`history`) before its own history: the one way a
    thread's turns are put in front of a prompt."""
    if history is None:
        return request
    return replace(request, history=(*history(route), *request.history))


async def ask_each(
    app: Junior,
    calls: Iterable[tuple[Route, Request]],
    on_result: OnResult | None = None,
    *,
    history: History | None = None,
    enough: Enough | None = None,
    on_progress: Report | None = None,
) -> list[AIResult]:
    """Ask each AI its own request, all at once: `calls` pairs each AI already chosen (`Junior.select`)
    with its request; one `AIResult` per AI, in the order given (without the AIs cancelled once `enough`
    held).

    Each call ends by its request's deadline (retries and waiting for a slot included), and an AI still
    unanswered then is marked timed out, or `partial` with the text it had streamed; one AI's failure
    never loses the others' answers. `on_progress` hears the tokens streamed so far per AI, at most every
    `callers.progress.PROGRESS_EVERY_S` ("grok: 320 tokens, gemini: 80 tokens").
    """
    return await _fan_out(app, list(calls), on_result, history, enough, on_progress)


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
        request = with_history(request, route, history)
        model = request.model or route.model  # what the call asked, for a failure's result
        try:
            counter = tokens.counter(route.label) if tokens is not None else None
            completion = await ask_route(app, route, request, on_tokens=counter)
        except JuniorAIError as error:
            result = AIResult.failed(route.label, model, error, started)
        except Exception as error:  # a bug in one AI's path must not lose the others' answers
            logger.exception("%s: unexpected error", route.label)
            result = AIResult.failed(route.label, model, error, started)
        else:
            result = AIResult.answered(route.label, completion, started)
        results[route.label] = result
        received(result)  # a call that handed off shows the answers in so far (callers/jobs.py)
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
