"""A deadline for a multi-step tool, shared fairly between the steps that remain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

from core.defaults import MIN_STEP_S
from core.errors import ProviderError, ProviderTimeout

__all__ = ["Deadline", "within"]


class Deadline:
    """When a tool must have answered by; `share(n)` is one of n remaining steps' fair part of the time."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def share(self, steps: int) -> float:
        """The time one step may take when `steps` steps (this one included) are still to come."""
        return self.remaining() / max(1, steps)

    @property
    def expired(self) -> bool:
        return self.remaining() < MIN_STEP_S


@contextmanager
def within(limit: float, ai: str, model: str, error: type[ProviderTimeout] = ProviderTimeout) -> Iterator[None]:
    """Cancel the block after `limit` seconds and raise `error` naming the AI (a provider's own typed
    errors pass through unchanged)."""
    try:
        with anyio.fail_after(limit):
            yield
    except TimeoutError as raised:
        if isinstance(raised, ProviderError):
            raise
        raise error(ai, model, f"no answer within {limit:.3g} s") from None
