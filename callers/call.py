"""The resilient single call: one AI, one request, through its breaker, its concurrency limit and the
one retry loop, each attempt within one time limit, the whole call within the request's deadline.

    completion = await ask(app, "grok", Request("Explain async/await", deadline=20))
    completion = ask_sync(app, "grok", Request(...))     # the same policy, from synchronous code
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from functools import partial

import anyio

from ai.pool import Sender
from ai.request import Completion, Request
from ai.stream import OnTokens, Received
from callers.app import Junior, Route
from callers.fixes import fix_for
from callers.spending import Outcome, Sending, admit, book, price_for
from core.errors import AIUnavailable, DeadlineReached, ProviderError, ProviderTimeout
from core.money.prices import load_price_list, price_list_loaded
from core.resilience.deadline import Deadline, within
from core.resilience.limiter import outcome_of
from core.resilience.retry import with_retries

__all__ = ["SDK_BACKSTOP_S", "ask", "ask_route", "ask_sync"]

logger = logging.getLogger("junior_ai.call")

# The SDK's own per-request timeout is set this much beyond ours, so that the one limit that ends an
# attempt is ours (and says whose fault it was); the SDK's is only a backstop.
SDK_BACKSTOP_S = 1.0


async def ask(app: Junior, name: str, request: Request) -> Completion:
    """Ask AI `name`, resiliently (see the module docstring).

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured: `name` cannot be called (the message says why).
        ProviderError: the provider failed for good (typed; see core.errors); CircuitOpen when cooling
            down; DeadlineReached when the call's deadline, not the provider, ended it.
    """
    return await ask_route(app, app.route(name), request)


async def ask_route(
    app: Junior,
    route: Route,
    request: Request,
    client: Sender | None = None,
    *,
    ledger: bool = True,
    on_tokens: OnTokens | None = None,
) -> Completion:
    """`ask` for a route already checked (a fan-out checks all its AIs before asking any);
    `client` replaces the route's (the synchronous path sends through the sync client). An AI that does
    not take images (`AIConfig.takes_images`) gets the request without them. With `ledger`, the call is
    held to the spending caps and written to the ledger (callers/spending.py).

    A streamed answer that a time limit (or `max_answer_bytes`, ai.body_cap) cuts off after some text is
    returned, not raised: its text so far, `partial`, with a note saying where it was cut (and not retried).
    `on_tokens` hears the tokens received so far as the answer streams in (ai.stream.OnTokens)."""
    guard, sender = route.guard, client or route.client
    if request.model is None and route.model != route.config.model:
        request = dataclasses.replace(request, model=route.model)  # `name:model` picked it for this call
    if request.images and not route.config.takes_images:
        request = dataclasses.replace(request, images=())  # no provider gets images it cannot take
    model = request.model or route.model
    # The tool's deadline when it made one (what the call waited for before this counts too), else from now.
    budget = Deadline.of(request.deadline if request.deadline is not None else app.settings.ask_deadline_s, app.clock)
    started = time.perf_counter()
    sending = Sending()  # what a cancelled call had with the provider, for its ledger row

    def retried(error: BaseException, delay: float) -> None:
        guard.metrics.retried()
        logger.info("%s: %s; retrying in %.2f s", route.name, error, delay)

    reservation = await admit(app, route, request, budget) if ledger else None  # the caps, before sending
    try:
        attempt = partial(_attempt, app, route, sender, request, budget, sending, on_tokens)
        completion = await with_retries(attempt, guard.policy, budget, on_retry=retried)
    except ProviderError as error:
        elapsed = time.perf_counter() - started
        guard.metrics.failed(error.kind, elapsed)
        if ledger:
            book(app, route, request, reservation, Outcome(error.kind, model, elapsed))
        raise error.with_fix(fix_for(error, route.config, app.settings.source)) from error.__cause__
    except BaseException:  # cancelled: booked as spent if a request was with the provider, else released
        if ledger and (reservation is not None or sending.with_provider):
            elapsed = time.perf_counter() - started
            cancelled = Outcome("cancelled", model, elapsed, None, sending.with_provider, sending.streamed_tokens)
            book(app, route, request, reservation, cancelled)
        raise
    elapsed = time.perf_counter() - started
    completion = await _priced(route, completion, model, elapsed)
    if ledger:
        answered = Outcome(_outcome(completion), model, elapsed, completion, streamed_tokens=sending.streamed_tokens)
        book(app, route, request, reservation, answered)
    return _noted(_capped(completion, app.settings.max_answer_chars))


async def _attempt(
    app: Junior,
    route: Route,
    sender: Sender,
    request: Request,
    budget: Deadline,
    sending: Sending,
    on_tokens: OnTokens | None,
) -> Completion:
    """One attempt of `ask_route`: through the breaker and a concurrency slot, within one time limit (the
    AI's own timeout, or what is left of the call's deadline); an answer a limit cut off after some text is
    returned as it is."""
    guard, model = route.guard, request.model or route.model
    own_limit = request.timeout or route.config.timeout
    with guard.breaker.attempt(counts=guard.counts):
        await _take_slot(route, model, budget)
        received = Received(on_tokens)  # what streams in; the answer so far if a limit cuts it off
        limit = min(own_limit, budget.remaining())
        # Cut short by the call's deadline rather than the AI's own timeout: not the AI's fault.
        error = ProviderTimeout if limit >= own_limit else DeadlineReached
        which = f"{route.name}'s timeout" if error is ProviderTimeout else "the call's deadline_s"
        named = own_limit if error is ProviderTimeout else budget.seconds
        try:
            with sending.attempt(received), within(limit, route.name, model, error, which, named):
                completion = await sender.ask(request, limit + SDK_BACKSTOP_S, received)
        except ProviderTimeout as timeout:
            guard.limiter.release(outcome_of(timeout))  # slow all the same, whatever arrived
            # Text arrived before the limit: that is the answer (asking again would be cut off too).
            cut = received.cut_short(model, f"{which} of {named:.3g} s", app.redactor)
            if cut is None:
                raise
            return cut
        except BaseException as failure:
            guard.limiter.release(outcome_of(failure))  # a 429 or a timeout lowers the AI's limit
            raise
        guard.limiter.release("ok")
        return completion


async def _priced(route: Route, completion: Completion, model: str, elapsed: float) -> Completion:
    """The answer with its price, counted in the AI's metrics."""
    usage = completion.usage
    if not price_list_loaded():  # the first answer: genai-prices loads in a worker thread, not on the loop
        with anyio.CancelScope(shield=True):  # the answer is in hand: priced and booked even if cancelled now
            await anyio.to_thread.run_sync(load_price_list)
    completion = dataclasses.replace(completion, price=price_for(route.config, completion, model))
    route.guard.metrics.succeeded(
        elapsed, usage.input_tokens if usage else None, usage.output_tokens if usage else None, completion.price.usd
    )
    return completion


def ask_sync(app: Junior, name: str, request: Request) -> Completion:
    """`ask` from synchronous code, through the AI's sync client: the same breaker, limit, retry
    loop and metrics. Called from a thread that runs an event loop, it runs in a thread of its own.

    Each call runs in an event loop of its own, which the store (opened in one loop, used in that loop)
    cannot follow: these calls are not written to the ledger, and while spending caps are set they are
    refused (the caps could not hold them); `ask` has neither limit.

    Raises:
        As `ask`; AIUnavailable while spending caps are set.
    """
    route = app.route(name)
    client = app.pool.threaded(name) or route.client
    if app.settings.capped:
        raise AIUnavailable(
            route.label,
            "cannot be asked synchronously while spending caps are set (the caps could not hold the call): "
            "use call_ai_async, or the MCP tools",
        )

    async def run() -> Completion:
        return await ask_route(app, route, request, client, ledger=False)

    if not _loop_running():
        return anyio.run(run)
    outcome: list[Completion | BaseException] = []

    def in_thread() -> None:
        try:
            outcome.append(anyio.run(run))
        except BaseException as error:  # handed to the calling thread as it is
            outcome.append(error)

    thread = threading.Thread(target=in_thread, name=f"junior-ai call_ai {name}")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _loop_running() -> bool:
    try:
        anyio.get_current_task()
    except RuntimeError:
        return False
    return True


def _capped(completion: Completion, limit: int) -> Completion:
    """The answer cut to `limit` characters, with a note saying how much was left out."""
    extra = len(completion.text) - limit
    if extra <= 0:
        return completion
    note = f"\n\n[answer truncated: {extra:,} more characters (max_answer_chars = {limit:,})]"
    return dataclasses.replace(completion, text=completion.text[:limit] + note)


def _outcome(completion: Completion) -> str:
    """The ledger's outcome of an answer: "partial" when a limit cut it off (it was billed all the same)."""
    return "partial" if completion.partial else "ok"


def _noted(completion: Completion) -> Completion:
    """A cut-off answer with a note after its text saying so, and where it was cut."""
    if completion.cut_off is None:
        return completion
    note = f"\n\n[cut off by {completion.cut_off}: the answer above is what had arrived by then]"
    return dataclasses.replace(completion, text=completion.text + note)


async def _take_slot(route: Route, model: str, budget: Deadline) -> None:
    """Wait for one of the AI's concurrency slots, but not past the call's deadline."""
    limiter = route.guard.limiter
    if budget.remaining() <= 0:  # what the call waited for before (its thread, the store...) took it all
        raise DeadlineReached(
            route.name, model, f"no time was left of the call's deadline_s of {budget.seconds:.3g} s to ask it"
        )
    waited = DeadlineReached(
        route.name, model, f"no free slot before the deadline ({limiter.in_flight} requests in flight)"
    )
    try:
        with anyio.fail_after(budget.remaining()):
            await limiter.acquire()
    except TimeoutError:
        raise waited from None
