"""An adaptive concurrency limit per AI: as many requests in flight as the provider takes, and no more.

The limit starts at its ceiling (the `max_concurrency` setting), so nothing waits until the provider
pushes back. The policy is one pure function, `adapt(state, outcome, ...)`, applied as each attempt ends:

- a 429 (`rate_limited`): the provider holds at most what is in flight beside the refused request. The
  first 429 halves what was in flight, or, right after the limit grew by one, steps back to the level
  below (it held; halving there is what makes plain AIMD oscillate). Either way the limit stays at or
  below what is still in flight, and the level that overloaded is remembered.
- a timeout of the AI's own (`timed_out`; our deadline is not one): halve what was in flight.
- a window follows each cut: the attempts that were in flight then end under the old limit, so they cut
  no further and grow nothing. A 429 among them only lowers the limit to what is still in flight beside
  it: one burst cuts once, to about what the provider holds.
- an answer while the limit is what holds requests back grows it by one (it doubles per round trip), up
  to one below the level that last overloaded. There it tries one more only after `PROBE_AFTER_S` and a
  round of answers; a probe that holds as long forgets the old level, and growth is quick again.
- anything else (`other`: our deadline, a 4xx or 5xx, a cancellation) changes nothing.

Waiters are served first come, first served; a waiter that is cancelled leaves no slot behind.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import anyio
import anyio.lowlevel

from core.config.defaults import LIMIT_CUT, PROBE_AFTER_S
from core.errors import DeadlineReached, ProviderTimeout, RateLimited

__all__ = ["AdaptiveLimiter", "LimitState", "Outcome", "adapt", "outcome_of"]

Outcome = Literal["ok", "rate_limited", "timed_out", "other"]


def outcome_of(error: BaseException | None) -> Outcome:
    """What one attempt's end says about the provider's load: `error` is None for an answer."""
    if error is None:
        return "ok"
    if isinstance(error, RateLimited):
        return "rate_limited"  # 429: more than the provider takes right now
    if isinstance(error, DeadlineReached):
        return "other"  # our own deadline ended the wait: it says nothing of the provider
    if isinstance(error, ProviderTimeout):
        return "timed_out"  # the AI's own timeout: the provider is slow, maybe because of us
    return "other"


@dataclass(frozen=True)
class LimitState:
    """The adaptive limit's state, between two attempts' ends.

    Attributes:
        limit: How many requests may be in flight.
        overloaded_at: How many were in flight when the provider last pushed back (None: not yet, or
            forgotten since); the limit grows quickly up to one below it, and slowly past that.
        raised: The limit's last change was a step up (a 429 now steps back instead of halving).
        oks: Answers since the limit last changed, counted while the limit held requests back.
        changed_at: The clock when the limit last changed.
        window: Attempts still to end that were in flight at the last cut.
    """

    limit: int
    overloaded_at: int | None = None
    raised: bool = False
    oks: int = 0
    changed_at: float = 0.0
    window: int = 0


def adapt(state: LimitState, outcome: Outcome, *, others: int, limited: bool, now: float, ceiling: int) -> LimitState:
    """The state after one attempt ends with `outcome`.

    Args:
        state: The state before.
        outcome: How the attempt ended (see `outcome_of`).
        others: Attempts still in flight beside this one.
        limited: The limit was holding requests back: all of it in use, or someone waiting.
        now: The clock.
        ceiling: The limit never goes above this (nor below 1).
    """
    if state.window > 0:
        state = replace(state, window=state.window - 1)
        if outcome == "rate_limited" and others < state.limit:
            # Refused in the same burst: the provider holds at most what is still in flight.
            limit = max(1, others)
            overloaded_at = min(state.overloaded_at or limit + 1, limit + 1)
            return replace(state, limit=limit, overloaded_at=overloaded_at, raised=False, oks=0, changed_at=now)
        return state
    flight = min(state.limit, others + 1)
    if outcome == "rate_limited":
        cut = state.limit - 1 if state.raised else int(flight * LIMIT_CUT)
        limit = max(1, min(cut, others))
    elif outcome == "timed_out":
        limit = max(1, int(flight * LIMIT_CUT))
    else:
        return _grown(state, now, ceiling) if outcome == "ok" and limited else state
    return LimitState(limit, overloaded_at=flight, raised=False, oks=0, changed_at=now, window=others)


def _grown(state: LimitState, now: float, ceiling: int) -> LimitState:
    """After an answer while the limit held requests back: one more, quickly or after a wait."""
    if state.limit >= ceiling:
        return state
    plateau = None if state.overloaded_at is None else state.overloaded_at - 1
    if plateau is None or state.limit < plateau:
        return replace(state, limit=state.limit + 1, raised=True, oks=0, changed_at=now)
    oks = state.oks + 1
    if oks < state.limit or now - state.changed_at < PROBE_AFTER_S:
        return replace(state, oks=oks)  # near the last overload: wait a round of answers, and a while
    if state.limit > plateau:
        # The probe held as long: the old overload level is stale, so growth is quick again.
        return replace(state, overloaded_at=None, oks=0, changed_at=now)
    return replace(state, limit=state.limit + 1, raised=True, oks=0, changed_at=now)


@dataclass(eq=False)
class _Waiter:
    event: anyio.Event = field(default_factory=anyio.Event)
    granted: bool = False


class AdaptiveLimiter:
    """A concurrency limit that follows what the provider takes: see the module docstring.

    `acquire()` a slot before each attempt and `release(outcome)` it after, with how the attempt ended.
    """

    def __init__(self, initial: int, ceiling: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Start at `initial` requests in flight, never more than `ceiling`.

        Raises:
            ValueError: unless 1 <= initial <= ceiling.
        """
        if not 1 <= initial <= ceiling:
            raise ValueError(f"need 1 <= initial <= ceiling, got initial={initial}, ceiling={ceiling}")
        self.ceiling = ceiling
        self._clock = clock
        self._state = LimitState(initial, changed_at=clock())
        self._in_flight = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def limit(self) -> int:
        """How many requests may be in flight now."""
        return self._state.limit

    @property
    def total_tokens(self) -> float:
        """The limit, under `anyio.CapacityLimiter`'s name."""
        return float(self._state.limit)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def state(self) -> LimitState:
        return self._state

    async def acquire(self) -> None:
        """Wait for a slot, behind everyone already waiting. Cancelled, it leaves no slot taken."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        if not self._waiters and self._in_flight < self._state.limit:
            self._in_flight += 1
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return
        waiter = _Waiter()
        self._waiters.append(waiter)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:  # handed a slot as it was cancelled: pass it on, unused
                self._in_flight -= 1
                self._grant()
            else:
                self._waiters.remove(waiter)
            raise

    def release(self, outcome: Outcome) -> None:
        """Give back a slot, saying how its attempt ended (see `outcome_of`); the limit adapts.

        Raises:
            RuntimeError: no slot is taken.
        """
        if self._in_flight <= 0:
            raise RuntimeError("release() without a slot taken")
        limited = self._in_flight >= self._state.limit or bool(self._waiters)
        self._in_flight -= 1
        self._state = adapt(
            self._state, outcome, others=self._in_flight, limited=limited, now=self._clock(), ceiling=self.ceiling
        )
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self._in_flight < self._state.limit:
            waiter = self._waiters.popleft()
            waiter.granted = True
            self._in_flight += 1
            waiter.event.set()
