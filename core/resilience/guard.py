"""What stands between a caller and one AI: its circuit breaker, concurrency limit, retry policy, metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.config.settings import AIConfig, Settings
from core.errors import RateLimited
from core.resilience.breaker import CircuitBreaker
from core.resilience.limiter import AdaptiveLimiter
from core.resilience.metrics import AIMetrics, MetricsSnapshot
from core.resilience.retry import RetryPolicy, should_retry

__all__ = ["AIGuard", "counts_against_breaker"]


def counts_against_breaker(error: BaseException, limit: int) -> bool:
    """Whether a failed attempt counts toward opening the breaker, the AI's limit (already adapted to
    this failure) being `limit`: a retryable failure does, except a 429 while the limit is above 1. That
    429 asks us to send less at once, which the limit does; a burst of them is no sign of an AI down."""
    if isinstance(error, RateLimited) and limit > 1:
        return False
    return should_retry(error)


@dataclass
class AIGuard:
    """One AI's breaker, concurrency limit, retry policy and metrics, shared by every call to it."""

    breaker: CircuitBreaker
    limiter: AdaptiveLimiter
    policy: RetryPolicy
    metrics: AIMetrics

    @classmethod
    def for_ai(cls, ai: AIConfig, settings: Settings, clock: Callable[[], float] = time.monotonic) -> AIGuard:
        """A guard with the AI's own settings where it has them, the server's otherwise. The limit
        starts at its ceiling: nothing waits until the provider pushes back. `clock` measures the
        breaker's cooldown and the limiter's windows (a test's own clock makes no test wait for them)."""
        ceiling = ai.max_concurrency or settings.max_concurrency
        return cls(
            breaker=CircuitBreaker(ai.name, ai.model, settings.breaker_threshold, settings.breaker_cooldown_s, clock),
            limiter=AdaptiveLimiter(ceiling, ceiling, clock=clock),
            policy=RetryPolicy(ai.attempts or settings.attempts, settings.retry_base_s, settings.retry_max_s),
            metrics=AIMetrics(),
        )

    def counts(self, error: BaseException) -> bool:
        """`counts_against_breaker` at the AI's current limit: the breaker's `counts`."""
        return counts_against_breaker(error, self.limiter.limit)

    def snapshot(self) -> MetricsSnapshot:
        return self.metrics.snapshot(self.breaker.trips, self.breaker.state, self.limiter.limit)
