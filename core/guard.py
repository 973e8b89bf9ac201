"""What stands between a caller and one AI: its circuit breaker, concurrency limit, retry policy, metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from core.breaker import CircuitBreaker
from core.config import AIConfig, Settings
from core.metrics import AIMetrics, MetricsSnapshot
from core.retry import RetryPolicy

__all__ = ["AIGuard"]


@dataclass
class AIGuard:
    """One AI's breaker, concurrency limit, retry policy and metrics, shared by every call to it."""

    breaker: CircuitBreaker
    limiter: anyio.CapacityLimiter
    policy: RetryPolicy
    metrics: AIMetrics

    @classmethod
    def for_ai(cls, ai: AIConfig, settings: Settings, clock: Callable[[], float] = time.monotonic) -> AIGuard:
        """A guard with the AI's own settings where it has them, the server's otherwise; `clock` is what
        the breaker's cooldown is measured with (a test's own clock makes no test wait for it)."""
        return cls(
            breaker=CircuitBreaker(ai.name, ai.model, settings.breaker_threshold, settings.breaker_cooldown_s, clock),
            limiter=anyio.CapacityLimiter(ai.max_concurrency or settings.max_concurrency),
            policy=RetryPolicy(ai.attempts or settings.attempts, settings.retry_base_s, settings.retry_max_s),
            metrics=AIMetrics(),
        )

    def snapshot(self) -> MetricsSnapshot:
        return self.metrics.snapshot(self.breaker.trips, self.breaker.state)
