"""One deadline per call: made where the call starts (the tool), carried in its `Request` to the provider,
and shared fairly between the steps that remain; every wait on the way (the thread, the client's roots, the
store, a concurrency slot, a retry's backoff) counts against it.

    deadline = Deadline(45, app.clock)                # the tool, as the call comes in
    first = deadline.step(3, at_most=30)               # one of 3 steps: its fair share, never past the end
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

from core.config.defaults import MIN_STEP_S
from core.errors import ProviderError, ProviderTimeout

__all__ = ["Deadline", "within"]


class Deadline:
    """When a tool must have answered by; `share(n)` is one of n remaining steps' fair part of the time.

    `clock` is read at creation and at every question (tests pass a fake one they move by hand).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds  # as the caller set it (messages name this, not what was left of it)
        self._clock = clock
        self._end = clock() + seconds

    @classmethod
    def of(cls, given: Deadline | float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """`given` when it is a running deadline (the call's, made when it came in); else one of `given`
        seconds from now."""
        return given if isinstance(given, Deadline) else cls(given, clock)

    def step(self, steps: int, at_most: float = math.inf) -> Deadline:
        """The deadline of the next of `steps` steps still to come (this one included): its fair share of
        the time left (`share`), at most `at_most` seconds, never past this deadline's end. Its messages
        name the step's seconds."""
        return Deadline(min(at_most, self.share(steps)), self._clock)

    def remaining(self) -> float:
        """Seconds left, never below 0."""
        return max(0.0, self._end - self._clock())

    def share(self, steps: int) -> float:
        """The time one step may take when `steps` steps (this one included) are still to come."""
        return self.remaining() / max(1, steps)

    @property
    def expired(self) -> bool:
        """Too little time left for another step to be worth starting."""
        return self.remaining() < MIN_STEP_S


@contextmanager
def within(
    limit: float,
    ai: str,
    model: str,
    error: type[ProviderTimeout] = ProviderTimeout,
    which: str = "",
    named: float | None = None,
) -> Iterator[None]:
    """Cancel the block after `limit` seconds and raise `error` naming the AI and `which` limit it was
    ("grok's timeout"), as `named` seconds when that limit was set so (a deadline, of which `limit` is
    what was left); a provider's own typed errors pass through unchanged."""
    try:
        with anyio.fail_after(limit):
            yield
    except TimeoutError as raised:
        if isinstance(raised, ProviderError):
            raise
        shown = limit if named is None else named
        raise error(ai, model, f"no answer within {shown:.3g} s" + (f" ({which})" if which else "")) from None
