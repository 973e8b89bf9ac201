"""What stands between a caller and one AI: its circuit breaker, concurrency limit, retry policy, metrics."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from core.breaker import CircuitBreaker
from core.config import AIConfig, Settings
from core.metrics import AIMetrics, MetricsSnapshot
from core.retry import RetryPolicy

__all__ = ["AIGuard"]


@dataclass
class AIGuard:
    breaker: CircuitBreaker
    limiter: anyio.CapacityLimiter
    policy: RetryPolicy
    metrics: AIMetrics

    @classmethod
    def for_ai(cls, ai: AIConfig, settings: Settings) -> AIGuard:
        """A guard with the AI's own settings where it has them, the server's otherwise."""
        return cls(
            breaker=CircuitBreaker(ai.name, ai.model, settings.breaker_threshold, settings.breaker_cooldown_s),
            limiter=anyio.CapacityLimiter(ai.max_concurrency or settings.max_concurrency),
            policy=RetryPolicy(ai.attempts or settings.attempts, settings.retry_base_s, settings.retry_max_s),
            metrics=AIMetrics(),
        )

    def snapshot(self) -> MetricsSnapshot:
        return self.metrics.snapshot(self.breaker.trips, self.breaker.state)
