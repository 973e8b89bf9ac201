"""Per-AI metrics, in bounded memory: calls, outcomes by kind, retries, latency percentiles and a latency
histogram, tokens, and the cost of the answers whose price is known."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass
from itertools import accumulate

from pydantic import BaseModel, ConfigDict

__all__ = ["LATENCY_BUCKETS_S", "AIMetrics", "LatencyHistogram", "MetricsSnapshot", "percentile"]

LATENCY_WINDOW = 1_000  # the most recent call latencies kept for p50/p95
# The histogram's upper bounds in seconds (Prometheus `le`), for calls from a cached answer to a long think.
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class MetricsSnapshot(BaseModel):
    """One AI's counts since the server started, as `server_status` reports them."""

    # The docstrings below become the fields' descriptions in server_status's output schema.
    model_config = ConfigDict(use_attribute_docstrings=True)

    calls: int
    """Calls made; one call is one ask of this AI, its retries included."""
    successes: int
    """Calls that got an answer."""
    failures: dict[str, int]
    """Failed calls by error kind ("timeout", "rate_limited", ...)."""
    retries: int
    """Retries taken, over all calls."""
    breaker_trips: int
    """How many times the circuit breaker has opened."""
    breaker_state: str
    """The circuit breaker now: "closed", "open" or "half_open"."""
    concurrency_limit: int
    """Requests this AI may have in flight now, as the adaptive limit stands (max_concurrency at most)."""
    latency_p50_s: float | None
    """Median seconds per whole call over the most recent calls (None before the first)."""
    latency_p95_s: float | None
    """95th-percentile seconds per whole call over the most recent calls (None before the first)."""
    input_tokens: int
    """Prompt tokens, as the provider reported them."""
    output_tokens: int
    """Answer tokens, as the provider reported them."""


@dataclass(frozen=True)
class LatencyHistogram:
    """Every call's whole latency since start, as Prometheus counts them: `buckets` pairs each upper bound
    (the last is +Inf) with the calls that took at most that long (cumulative), and `sum_s` their seconds."""

    buckets: tuple[tuple[float, int], ...]
    sum_s: float


class AIMetrics:
    """Counts for one AI. A call is one `ask` (its retries included); latencies are whole calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.successes = 0
        self.failures: Counter[str] = Counter()
        self.retries = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0  # the answers whose price is known; an unknown price adds nothing
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._bucket_counts = [0] * (len(LATENCY_BUCKETS_S) + 1)  # per bucket, the last one +Inf
        self._latency_sum_s = 0.0

    def succeeded(
        self, latency_s: float, input_tokens: int | None, output_tokens: int | None, cost_usd: float | None = None
    ) -> None:
        """Count a call that got an answer, with its tokens when the provider reported them and its cost
        when it is known."""
        self.calls += 1
        self.successes += 1
        self._observe(latency_s)
        self.input_tokens += input_tokens or 0
        self.output_tokens += output_tokens or 0
        self.cost_usd += cost_usd or 0.0

    def failed(self, kind: str, latency_s: float) -> None:
        """Count a call that failed for good, by its error's `kind`."""
        self.calls += 1
        self.failures[kind] += 1
        self._observe(latency_s)

    def _observe(self, latency_s: float) -> None:
        self._latencies.append(latency_s)
        self._bucket_counts[bisect_left(LATENCY_BUCKETS_S, latency_s)] += 1
        self._latency_sum_s += latency_s

    def histogram(self) -> LatencyHistogram:
        """The latency histogram so far (for `/metrics`; server_status shows the percentiles)."""
        return LatencyHistogram(
            tuple(zip((*LATENCY_BUCKETS_S, math.inf), accumulate(self._bucket_counts), strict=True)),
            self._latency_sum_s,
        )

    def retried(self) -> None:
        """Count one retry (the call it belongs to is counted when it ends)."""
        self.retries += 1

    def snapshot(self, breaker_trips: int, breaker_state: str, concurrency_limit: int) -> MetricsSnapshot:
        """The counts so far, with the breaker's and the limiter's, which they keep."""
        latencies = list(self._latencies)
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        return MetricsSnapshot(
            calls=self.calls,
            successes=self.successes,
            failures=dict(self.failures),
            retries=self.retries,
            breaker_trips=breaker_trips,
            breaker_state=breaker_state,
            concurrency_limit=concurrency_limit,
            latency_p50_s=round(p50, 3) if p50 is not None else None,
            latency_p95_s=round(p95, 3) if p95 is not None else None,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
        )
