"""A deadline for a multi-step tool, shared fairly between the steps that remain."""

from __future__ import annotations

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
