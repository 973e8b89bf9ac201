"""Progress while answers stream in: the tokens received so far per AI, told as one line at most every
`PROGRESS_EVERY_S` ("grok: 320 tokens, gemini: 80 tokens"), so that a long call is visibly alive without
a notification per chunk.

    tokens = TokenProgress(report, app.clock)
    completion = await ask_route(app, route, request, on_tokens=tokens.counter(route.label))
    tokens.finished(route.label)          # its answer is told otherwise ("grok answered in 1.2 s")
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from ai.stream import OnTokens

__all__ = ["PROGRESS_EVERY_S", "Report", "TokenProgress", "is_due", "tokens_line"]

PROGRESS_EVERY_S = 0.5  # at most two token notifications a second, however many AIs stream at once
# Awaited with a progress line; it must not raise (tools.progress.Progress never does).
Report = Callable[[str], Awaitable[None]]


def tokens_line(counts: Mapping[str, int]) -> str:
    """The progress line for the AIs still streaming: "grok: 320 tokens, gemini: 1,024 tokens"."""
    return ", ".join(f"{name}: {count:,} tokens" for name, count in counts.items())


def is_due(last: float, now: float, every: float = PROGRESS_EVERY_S) -> bool:
    """Whether another line may be told at `now`, the last having been told (or the call begun) at `last`."""
    return now - last >= every


class TokenProgress:
    """The tokens each AI of one call has streamed so far, told through `report` at most every `every`
    seconds (by `clock`), when a chunk arrives and the time has come: a call answered within `every`
    seconds tells none."""

    def __init__(
        self, report: Report, clock: Callable[[], float] = time.monotonic, every: float = PROGRESS_EVERY_S
    ) -> None:
        self._report = report
        self._clock = clock
        self._every = every
        self._last = clock()  # made as the call begins
        self.counts: dict[str, int] = {}

    def counter(self, name: str) -> OnTokens:
        """What AI `name`'s stream tells its token count to (`ask_route(..., on_tokens=...)`)."""

        async def heard(tokens: int) -> None:
            self.counts[name] = tokens
            now = self._clock()
            if is_due(self._last, now, self._every):
                self._last = now
                await self._report(tokens_line(self.counts))

        return heard

    def finished(self, name: str) -> None:
        """`name` has its outcome: it leaves the line."""
        self.counts.pop(name, None)
