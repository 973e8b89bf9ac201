"""`GET /metrics` of `serve --http`: the live application's per-AI metrics in the Prometheus text format.

A custom collector reads the application's guards at scrape time (nothing is copied or kept between
scrapes), on a `CollectorRegistry` the HTTP app owns (never prometheus_client's global default one).
Every series but `junior_ai_ledger_behind` is labelled by `ai`, the configured AI's name:

    junior_ai_requests_total, junior_ai_successes_total, junior_ai_failures_total{kind}, junior_ai_retries_total
    junior_ai_latency_seconds (a histogram of whole calls since start: _bucket{le}, _sum, _count)
    junior_ai_latency_p50_seconds, junior_ai_latency_p95_seconds   (gauges over the recent calls' window)
    junior_ai_tokens_total{direction="in"|"out"}
    junior_ai_cost_usd_total   (this replica's answers whose price is known; the ledger has every call)
    junior_ai_breaker_state (0 closed, 1 half-open, 2 open), junior_ai_breaker_trips_total
    junior_ai_concurrency_limit, junior_ai_ledger_behind
    junior_ai_rate_limited_total, junior_ai_rate_unchecked_total   (HTTP requests answered 429, and let
                                                                   through because the store could not count)

What is shown is counts, dollars and names only: no key, no base URL, no caller.

Imported only on the `--http` path: prometheus_client stays off the stdio start-up.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from types import MappingProxyType
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from callers import Junior

__all__ = [
    "BREAKER_STATES",
    "METRICS_PATH",
    "JuniorCollector",
    "RateCollector",
    "RateCounts",
    "metrics_endpoint",
    "metrics_registry",
]

METRICS_PATH = "/metrics"
BREAKER_STATES = MappingProxyType({"closed": 0, "half_open": 1, "open": 2})  # junior_ai_breaker_state's values


class JuniorCollector(Collector):
    """The running application's metrics, read when scraped. Before start-up and after shutdown
    (`running()` is None) there is nothing to report."""

    def __init__(self, running: Callable[[], Junior | None]) -> None:
        self._running = running

    def collect(self) -> Iterator[Metric]:
        app = self._running()
        if app is None:
            return
        requests = CounterMetricFamily("junior_ai_requests", "Calls made, retries included.", labels=["ai"])
        successes = CounterMetricFamily("junior_ai_successes", "Calls that got an answer.", labels=["ai"])
        failures = CounterMetricFamily("junior_ai_failures", "Calls that failed, by error kind.", labels=["ai", "kind"])
        retries = CounterMetricFamily("junior_ai_retries", "Retries taken, over all calls.", labels=["ai"])
        latency = HistogramMetricFamily("junior_ai_latency_seconds", "Seconds per whole call.", labels=["ai"])
        cost = CounterMetricFamily("junior_ai_cost_usd", "Dollars of the answers whose price is known.", labels=["ai"])
        p50 = GaugeMetricFamily("junior_ai_latency_p50_seconds", "Median seconds per call.", labels=["ai"])
        p95 = GaugeMetricFamily("junior_ai_latency_p95_seconds", "95th-percentile seconds per call.", labels=["ai"])
        tokens = CounterMetricFamily(
            "junior_ai_tokens", "Tokens as the provider reported them.", labels=["ai", "direction"]
        )
        breaker = GaugeMetricFamily(
            "junior_ai_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", labels=["ai"]
        )
        trips = CounterMetricFamily("junior_ai_breaker_trips", "Times the circuit breaker opened.", labels=["ai"])
        limit = GaugeMetricFamily("junior_ai_concurrency_limit", "Requests allowed in flight now.", labels=["ai"])
        for name, guard in sorted(app.guards.items()):
            snapshot = guard.snapshot()
            requests.add_metric([name], snapshot.calls)
            successes.add_metric([name], snapshot.successes)
            for kind, count in sorted(snapshot.failures.items()):
                failures.add_metric([name, kind], count)
            retries.add_metric([name], snapshot.retries)
            histogram = guard.metrics.histogram()
            latency.add_metric([name], [(_le(bound), count) for bound, count in histogram.buckets], histogram.sum_s)
            cost.add_metric([name], guard.metrics.cost_usd)
            if snapshot.latency_p50_s is not None:
                p50.add_metric([name], snapshot.latency_p50_s)
            if snapshot.latency_p95_s is not None:
                p95.add_metric([name], snapshot.latency_p95_s)
            tokens.add_metric([name, "in"], snapshot.input_tokens)
            tokens.add_metric([name, "out"], snapshot.output_tokens)
            breaker.add_metric([name], BREAKER_STATES.get(snapshot.breaker_state, BREAKER_STATES["open"]))
            trips.add_metric([name], snapshot.breaker_trips)
            limit.add_metric([name], snapshot.concurrency_limit)
        yield from (requests, successes, failures, retries, latency, p50, p95, tokens, cost, breaker, trips, limit)
        yield GaugeMetricFamily(
            "junior_ai_ledger_behind", "Spending-ledger rows that could not be written.", value=app.ledger_behind
        )


class RateCounts(Protocol):
    """What the rate limiter counts (tools/http_limits.RateLimiter)."""

    refused: int
    failed_open: int


class RateCollector(Collector):
    """This replica's rate-limit counts: requests refused (429) and let through unchecked."""

    def __init__(self, limiter: RateCounts) -> None:
        self._limiter = limiter

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "junior_ai_rate_limited", "Requests answered 429: over their caller's rate.", value=self._limiter.refused
        )
        yield CounterMetricFamily(
            "junior_ai_rate_unchecked",
            "Requests let through unchecked: the store could not count them.",
            value=self._limiter.failed_open,
        )


def _le(bound: float) -> str:
    """A bucket's `le` label as Prometheus writes it ("0.5", "+Inf")."""
    return "+Inf" if bound == math.inf else repr(bound)


def metrics_registry(running: Callable[[], Junior | None]) -> CollectorRegistry:
    """A registry of its own (not prometheus_client's global one) holding the application's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JuniorCollector(running))
    return registry


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint answering a scrape of `registry` in the Prometheus text format. It runs on
    the event loop, as the calls that update the counters do, so a scrape never reads them half-changed
    (a few dozen series: no I/O, nothing slow)."""

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
