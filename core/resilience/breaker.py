"""A circuit breaker per AI: after N consecutive failures, fail at once for a cooldown, then let one
probe call decide. No maintained asyncio breaker library fits, so it is small and clock-injectable."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from core.errors import CircuitOpen, DeadlineReached, ProviderError

__all__ = ["CircuitBreaker"]

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """closed → open after `threshold` consecutive retryable failures → half_open after `cooldown_s` →
    closed on the probe's success, open again on its failure.

    Attributes:
        state: "closed", "open" or "half_open".
        failures: consecutive retryable failures so far.
        trips: how many times it has opened.
    """

    def __init__(
        self, ai: str, model: str, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ai = ai
        self.model = model
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.state: State = "closed"
        self.failures = 0
        self.trips = 0
        self._opened_at = 0.0
        self._probing = False

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it is not open)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self.cooldown_s - (self._clock() - self._opened_at))

    def check(self) -> bool:
        """Call before each attempt; True when this attempt is the half-open breaker's one probe.

        Raises:
            CircuitOpen: the breaker is open, or a probe is already deciding.
        """
        if self.state == "open":
            wait = self.retry_in()
            if wait > 0:
                raise CircuitOpen(
                    self.ai,
                    self.model,
                    f"{self.ai} is cooling down after {self.failures} failures, retry in {math.ceil(wait)} s",
                    retry_in=wait,
                )
            self.state, self._probing = "half_open", False
        if self.state == "half_open":
            if self._probing:
                raise CircuitOpen(
                    self.ai, self.model, f"{self.ai} is recovering: a probe call is deciding, retry shortly", 1.0
                )
            self._probing = True
            return True
        return False

    @contextmanager
    def attempt(self, counts: Callable[[BaseException], bool]) -> Iterator[None]:
        """Guard one attempt: `check()` first, then record how it ended. A provider failure is recorded
        (as counting when `counts(error)`); a deadline of ours, a cancellation or a bug says nothing of
        the provider, so it only hands the probe, if this attempt was one, to the next call.

        Raises:
            CircuitOpen: from `check()`.
        """
        probe = self.check()
        try:
            yield
        except ProviderError as error:
            if isinstance(error, DeadlineReached):
                self._release(probe)
            else:
                self.record_failure(counts(error), probe)
            raise
        except BaseException:
            self._release(probe)
            raise
        self.record_success()

    def _release(self, probe: bool) -> None:
        if probe:
            self._probing = False

    def record_success(self) -> None:
        """An attempt the provider answered: the breaker closes and the count of failures starts again."""
        self.state, self.failures, self._probing = "closed", 0, False

    def record_failure(self, counts: bool, probe: bool = False) -> None:
        """A failed attempt; `counts` when it is of a retryable kind (the provider is in trouble).

        A failure that does not count (400, 401, ...) still proves the provider answers. Only the probe
        decides a half-open breaker, and an attempt that started before the breaker opened and fails
        after does not open it again.
        """
        if not counts:
            self.record_success()
            return
        self.failures += 1
        if self.state == "open" or (self.state == "half_open" and not probe):
            return
        if probe or self.failures >= self.threshold:
            self.state, self._opened_at, self._probing = "open", self._clock(), False
            self.trips += 1
