"""Progress notifications to the client, for the tools that take a while."""

from __future__ import annotations

import logging

from callers import AIResult
from tools.context import AppContext, app_of

__all__ = ["Progress"]

logger = logging.getLogger("junior_ai.tools")


class Progress:
    """Progress notifications to the client (a no-op unless it asked for them); never fails the tool.

    Each step (`__call__`) moves the progress to the next whole number; a note between steps (`note`:
    tokens streamed so far) moves it part of the way to the next step, never all of it (MCP wants every
    notification's progress above the last one's)."""

    def __init__(self, ctx: AppContext, total: int | None = None) -> None:
        self._ctx = ctx
        self.total = total
        self.done = 0
        self._notes = 0  # notes since the last step

    async def __call__(self, message: str) -> None:
        self.done += 1
        self._notes = 0
        await self._send(self.done, message)

    async def note(self, message: str) -> None:
        """A message between two steps: progress goes from `done` towards `done + 1` (½, ⅔, ¾, ...)."""
        self._notes += 1
        await self._send(self.done + self._notes / (self._notes + 1), message)

    async def _send(self, progress: float, message: str) -> None:
        try:
            await self._ctx.report_progress(progress, self.total, app_of(self._ctx).redactor.clean(message))
        except Exception:  # progress is a courtesy: a client that went away must not fail the answer
            logger.exception("could not send a progress notification")

    async def result(self, result: AIResult) -> None:
        await self(result.describe())
