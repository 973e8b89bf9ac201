"""A deadline for a multi-step tool, shared fairly between the steps that remain."""

from __future__ import annotations

import time

from core.defaults import MIN_STEP_S

__all__ = ["Deadline"]


class Deadline:
    """When a tool must have answered by; `share(n)` is one of n remaining steps' fair part of the time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def share(self, steps: int) -> float:
        """The time one step may take when `steps` steps (this one included) are still to come."""
        return self.remaining() / max(1, steps)

    @property
    def expired(self) -> bool:
        return self.remaining() < MIN_STEP_S
