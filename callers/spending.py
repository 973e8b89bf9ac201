"""What a call may spend, and what it spent: checked against the caps before anything is sent, written to
the ledger once the answer is in hand.

    reservation = await admit(app, route, request, deadline)  # raises BudgetExceeded, or refuses to spend blind
    ... the call ...
    book(app, route, request, reservation, outcome)    # the ledger row, in the background

With no cap configured nothing waits on the store: the call's row is written after the answer, and a
store that fails costs a log line and a count in `server_status` ("the ledger is behind"), never the
answer. With caps, the call's worst case (its prompt and `max_tokens` at the model's price) is reserved
atomically before sending and settled with the real cost after; a store that cannot be used then refuses
the call, rather than spend without knowing what was spent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio

from ai.request import Completion, Request
from callers.app import Junior, Route
from callers.costs import worst_case_for
from core.budgets import check_call_cost
from core.config import caps_for
from core.deadline import Deadline
from core.errors import AIUnavailable, DeadlineReached, StoreUnavailable

__all__ = ["Outcome", "admit", "book"]

logger = logging.getLogger("junior_ai.spending")


@dataclass(frozen=True)
class Outcome:
    """How a provider call ended, for its ledger row: "ok" with the answer, an error's kind, or
    "cancelled"."""

    kind: str
    model: str
    latency_s: float
    completion: Completion | None = None


async def admit(app: Junior, route: Route, request: Request, deadline: Deadline) -> int | None:
    """Check the call against the caps and reserve its worst case; the reservation's id, or None when no
    cap holds this AI (then nothing was asked of the store). Opening the store waits within the call's
    `deadline` (the reservation itself, once begun, is not cut: its id would be lost with it).

    Raises:
        BudgetExceeded: the call's worst case is over `max_usd_per_call`, or over a daily or monthly cap.
        AIUnavailable: caps are set and the call cannot be checked (its model has no known price, or
            the store cannot be used): refused rather than spend blind.
        DeadlineReached: the store did not open before the call's deadline.
    """
    settings = app.settings
    caps = caps_for(settings, route.name)
    if not caps and settings.max_usd_per_call is None:
        return None
    model = request.model or route.model
    estimate = worst_case_for(route.config, request)
    if estimate is None:
        raise AIUnavailable(
            route.label,
            f"is refused while spending caps are set: nobody can price {model!r} (add "
            f'"prices": {{"{model}": {{"input_per_mtok": ..., "output_per_mtok": ...}}}} to its block)',
        )
    check_call_cost(estimate, settings.max_usd_per_call)
    if not caps:
        return None
    try:
        with anyio.move_on_after(deadline.remaining()) as opening:
            store = await app.store()
        if opening.cancelled_caught:
            raise DeadlineReached(route.name, model, "the store, which holds the spending caps, did not open in time")
        return await store.ledger.reserve(
            caps=caps,
            ai=route.name,
            model=model,
            tool=request.tool,
            thread_id=request.thread_id,
            caller=request.caller,
            estimate_usd=estimate,
        )
    except StoreUnavailable as error:
        raise AIUnavailable(
            route.label, f"is refused: spending caps are set and cannot be checked, as {error}"
        ) from error


def book(app: Junior, route: Route, request: Request, reservation: int | None, outcome: Outcome) -> None:
    """Write the call's ledger row once the answer is in hand, in the background (`Junior.after_answer`):
    settle its reservation with the real cost, release it when the call failed, or record a new row."""
    app.after_answer(_book(app, route, request, reservation, outcome))


async def _book(app: Junior, route: Route, request: Request, reservation: int | None, outcome: Outcome) -> None:
    completion = outcome.completion
    usage = completion.usage if completion is not None else None
    cost = completion.price.usd if completion is not None else None
    kind = outcome.kind
    # What the provider said about the call: the same fields whether its row settles a reservation or is new.
    said: dict[str, Any] = {
        "cost_usd": cost,
        "outcome": kind,
        "latency_s": outcome.latency_s,
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
    }
    model = completion.model if completion is not None else outcome.model
    try:
        ledger = (await app.store()).ledger
        if reservation is not None and completion is not None:
            await ledger.settle(reservation, model=model, **said)
        elif reservation is not None:
            await ledger.release(reservation, kind, latency_s=outcome.latency_s)
        else:
            await ledger.record(
                ai=route.name,
                model=model,
                tool=request.tool,
                thread_id=request.thread_id,
                caller=request.caller,
                **said,
            )
    except StoreUnavailable as error:  # never the answer's concern: counted, and shown by server_status
        app.ledger_behind += 1
        logger.warning("%s: the ledger row was not written (%d behind): %s", route.label, app.ledger_behind, error)
