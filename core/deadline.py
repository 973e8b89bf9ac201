"""A deadline for a multi-step tool, shared fairly between the steps that remain."""

from __future__ import annotations

import time

__all__ = ["DEFAULT_DEADLINE_S", "MAX_DEADLINE_S", "MIN_STEP_S", "Deadline"]

# Claude Desktop cancels a stdio tool call at about 60 s; a multi-AI tool answers well before that.
DEFAULT_DEADLINE_S = 45.0
MAX_DEADLINE_S = 600.0
# Less time than this left for a step: not worth asking an AI, say so instead.
MIN_STEP_S = 0.5


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
