"""What a call may spend, and what it spent: checked against the caps before anything is sent, written to
the ledger once the answer is in hand; and what an answer costs at one configured AI.

    reservation = await admit(app, route, request, deadline)  # raises BudgetExceeded, or refuses to spend blind
    ... the call ...
    book(app, route, request, reservation, outcome)    # the ledger row, in the background

    price = price_for(route.config, completion, request.model)   # core.money.prices' order, for this AI
    worst = worst_case_for(route.config, request)                 # checked against the caps before sending
    least = streamed_cost_for(route.config, request, 312)         # a call cancelled once 312 tokens had streamed

With no cap configured nothing waits on the store: the call's row is written after the answer, and a
store that fails costs a log line and a count in `server_status` ("the ledger is behind"), never the
answer. With caps, the call's worst case (its prompt and `max_tokens` at the model's price) is reserved
atomically before sending and settled with the real cost after; a store that cannot be used then refuses
the call, rather than spend without knowing what was spent.

A request that reached the provider has cost money, however the call ended. How each end is booked:

- an answer: its cost as the provider's usage prices it (booked as reported, with a note, when that is
  more output than `max_tokens`); a partial answer (cut off by a time limit) or one without usage has an
  unknown cost, and the caps count its estimate;
- cancelled before the request was sent (waiting for the caps, a slot, or the SDK): released, nothing
  was spent;
- cancelled after it was sent (a quorum reached, a client's notifications/cancelled, shutdown), whether
  or not tokens had streamed: settled with its cost unknown, and counted at its estimate: the worst case
  reserved for it, or the price of its prompt and the tokens seen streamed when that is more (a provider
  that streamed past `max_tokens`). Not the tokens seen alone: the provider bills what it generated until
  it saw the connection close, tokens still on their way and reasoning included, and never says how many;
  what was seen is only a floor, and the caps promise never to be exceeded;
- failed (a provider error): released, as today (what a failed attempt streamed is not counted).

Every row is written by a task of its own (`Junior.after_answer`), which the call's cancellation does not
reach and closing waits for, briefly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio

from ai.request import Completion, Request
from ai.stream import Received
from callers.app import Junior, Route
from core.config.settings import AIConfig, caps_for
from core.errors import AIUnavailable, DeadlineReached, StoreUnavailable
from core.money.caps import check_call_cost
from core.money.prices import Price, genai_provider, load_price_list, price_list_loaded, price_of, worst_case_usd
from core.resilience.deadline import Deadline

__all__ = ["Outcome", "Sending", "admit", "book", "ledger_note", "price_for", "streamed_cost_for", "worst_case_for"]

logger = logging.getLogger("junior_ai.spending")


@dataclass(frozen=True)
class Outcome:
    """How a provider call ended, for its ledger row: "ok" or "partial" with the answer, an error's kind,
    or "cancelled"; `sent` when a request was with the provider as it was cancelled, and `streamed_tokens`
    what the last request sent was seen to stream (`Sending`)."""

    kind: str
    model: str
    latency_s: float
    completion: Completion | None = None
    sent: bool = False
    streamed_tokens: int | None = None


class Sending:
    """The attempts of one call, as its ledger row needs them: the stream of the last one handed to the
    provider, and whether it is still there (the call was cancelled while the provider worked on it)."""

    def __init__(self) -> None:
        self._last: Received | None = None
        self._open = False

    @contextlib.contextmanager
    def attempt(self, received: Received) -> Iterator[None]:
        """Around one attempt, `received` gathering its answer: the attempt stays open if it is cancelled."""
        self._last, self._open = received, True
        cancelled = False
        try:
            yield
        except anyio.get_cancelled_exc_class():
            cancelled = True  # while with the provider: it stays open, and is booked as sent
            raise
        finally:
            self._open = cancelled  # else ended by its answer, an error or a time limit

    @property
    def with_provider(self) -> bool:
        """A request was sent and had not ended when the call was cancelled."""
        return self._open and self._last is not None and self._last.sent

    @property
    def streamed_tokens(self) -> int | None:
        """The answer's tokens the last request sent was seen to stream; None when it streamed nothing."""
        last = self._last
        if last is None or not last.sent or not (last.chars or last.usage):
            return None
        return last.tokens


def ledger_note(
    *, cancelled: bool, streamed_tokens: int | None, reported_tokens: int | None, max_tokens: int | None
) -> str | None:
    """What a reader of the call's ledger row should know: that it was cancelled after it was sent, and
    that the provider answered with more output tokens than `max_tokens` (reported, else seen streamed)."""
    notes = []
    if cancelled:
        seen = f"{streamed_tokens:,} tokens seen streamed" if streamed_tokens else "nothing streamed yet"
        notes.append(f"cancelled after sending ({seen}): cost unknown, counted at its estimate")
    output, said = (reported_tokens, "reported") if reported_tokens is not None else (streamed_tokens, "streamed")
    if max_tokens is not None and output is not None and output > max_tokens:
        notes.append(f"the provider {said} {output:,} output tokens, over max_tokens {max_tokens:,}: booked as {said}")
    return "; ".join(notes) or None


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
    """Write the call's ledger row once it is over, in the background (`Junior.after_answer`): settle its
    reservation with the real cost (or, unknown, its estimate), release it when nothing was spent, or
    record a new row (see the module docstring). Synchronous, so that a cancelled call books all the same."""
    app.after_answer(_book(app, route, request, reservation, outcome))


async def _book(app: Junior, route: Route, request: Request, reservation: int | None, outcome: Outcome) -> None:
    completion = outcome.completion
    usage = completion.usage if completion is not None else None
    cost = completion.price.usd if completion is not None else None
    spent = completion is not None or outcome.sent  # the provider worked on it, and bills it
    kind = outcome.kind
    note = ledger_note(
        cancelled=outcome.sent and completion is None,
        streamed_tokens=outcome.streamed_tokens,
        reported_tokens=usage.output_tokens if usage else None,
        max_tokens=request.max_tokens,
    )
    # What the provider said about the call: the same fields whether its row settles a reservation or is new.
    said: dict[str, Any] = {
        "cost_usd": cost,
        "outcome": kind,
        "latency_s": outcome.latency_s,
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "streamed_tokens": outcome.streamed_tokens,
        "note": note,
    }
    model = completion.model if completion is not None else outcome.model
    try:
        # A cost nobody knows counts at the estimate, raised to what was seen streamed when that is more.
        estimate = await _estimate(route, request, outcome.streamed_tokens) if spent and cost is None else None
        ledger = (await app.store()).ledger
        if reservation is not None and spent:
            await ledger.settle(reservation, model=model, estimate_usd=estimate, **said)
        elif reservation is not None:
            await ledger.release(reservation, kind, latency_s=outcome.latency_s)
        else:
            await ledger.record(
                ai=route.name,
                model=model,
                tool=request.tool,
                thread_id=request.thread_id,
                caller=request.caller,
                estimate_usd=estimate or 0.0,
                **said,
            )
    except StoreUnavailable as error:  # never the answer's concern: counted, and shown by server_status
        app.ledger_behind += 1
        logger.warning("%s: the ledger row was not written (%d behind): %s", route.label, app.ledger_behind, error)


async def _estimate(route: Route, request: Request, streamed_tokens: int | None) -> float | None:
    """What the caps count for a call of unknown cost: its worst case, or its prompt and the tokens seen
    streamed when that is more; None when nobody can price the model."""
    if not price_list_loaded():  # genai-prices loads in a worker thread, not on the loop
        await anyio.to_thread.run_sync(load_price_list)
    worst = worst_case_for(route.config, request)
    seen = streamed_cost_for(route.config, request, streamed_tokens) if streamed_tokens else None
    known = [usd for usd in (worst, seen) if usd is not None]
    return max(known) if known else None


def price_for(ai: AIConfig, completion: Completion, asked: str | None = None) -> Price:
    """What `completion` cost: `core.money.prices.price_of` with the AI's provider and configured prices.

    Args:
        ai: The AI that answered.
        completion: Its answer.
        asked: The model asked (None: the AI's model), looked up when the answer names another.
    """
    provider = genai_provider(ai.name, ai.builtin)
    return price_of(provider, completion.model, completion.usage, ai.prices, asked=asked or ai.model)


def worst_case_for(ai: AIConfig, request: Request) -> float | None:
    """The most `request` may cost at `ai`, estimated before it is sent (`core.money.prices.worst_case_usd`): its
    system prompt and every turn's text (images are not counted); None when the model cannot be priced."""
    return _prompt_and(ai, request, request.max_tokens)


def streamed_cost_for(ai: AIConfig, request: Request, output_tokens: int) -> float | None:
    """What `request` cost at `ai` at least, once `output_tokens` of its answer were seen streamed: its
    prompt (estimated as for `worst_case_for`) and those tokens at the model's price; None when the model
    cannot be priced."""
    return _prompt_and(ai, request, output_tokens)


def _prompt_and(ai: AIConfig, request: Request, output_tokens: int | None) -> float | None:
    chars = len(request.system or "") + sum(len(message.text) for message in request.messages)
    model = request.model or ai.model
    return worst_case_usd(genai_provider(ai.name, ai.builtin), model, chars, output_tokens, ai.prices)
