"""Pure resilience policy, table-driven: what to retry, how long to wait, the breaker, the metrics."""

from __future__ import annotations

import datetime

import pytest

from ai.translate import parse_retry_after
from core.breaker import CircuitBreaker
from core.errors import (
    AuthenticationFailed,
    BadRequest,
    CircuitOpen,
    ContentBlocked,
    EmptyResponse,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
)
from core.metrics import AIMetrics, percentile
from core.retry import retry_delay, should_retry


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (ProviderTimeout("a", "m", "slow"), True),
        (ProviderUnreachable("a", "m", "refused"), True),
        (RateLimited("a", "m", "429"), True),
        (ProviderServerError("a", "m", "boom", 500), True),
        (ProviderServerError("a", "m", "unavailable", 503), True),
        (ProviderError("a", "m", "request timeout", 408), True),
        (ProviderError("a", "m", "conflict", 409), True),
        (InvalidResponse("a", "m", "not json"), True),
        (BadRequest("a", "m", "bad", 400), False),
        (AuthenticationFailed("a", "m", "key", 401), False),
        (AuthenticationFailed("a", "m", "forbidden", 403), False),
        (ModelNotFound("a", "m", "no such model", 404), False),
        (BadRequest("a", "m", "unprocessable", 422), False),
        (ContentBlocked("a", "m", "safety"), False),
        (EmptyResponse("a", "m", "nothing"), False),
        (CircuitOpen("a", "m", "cooling down", 3.0), False),
        (ValueError("a bug"), False),
    ],
)
def test_should_retry(error: BaseException, retry: bool) -> None:
    assert should_retry(error) is retry


@pytest.mark.parametrize(
    ("retry", "retry_after", "jitter", "expected"),
    [
        (1, None, 0.0, 0.25),  # half of 0.5 · 2^0
        (1, None, 1.0, 0.5),  # all of it
        (2, None, 1.0, 1.0),
        (3, None, 0.5, 1.5),  # 2 s ceiling, three quarters
        (6, None, 1.0, 8.0),  # 16 s capped at 8
        (10, None, 0.0, 4.0),  # capped, half
        (1, 7.0, 0.9, 7.0),  # the provider's Retry-After wins
        (4, 0.0, 0.9, 0.0),
    ],
)
def test_retry_delay(retry: int, retry_after: float | None, jitter: float, expected: float) -> None:
    assert retry_delay(retry, retry_after, base=0.5, cap=8.0, jitter=jitter) == pytest.approx(expected)


def test_retry_delay_jitter_stays_within_half_and_all_of_the_ceiling() -> None:
    delays = {retry_delay(3, base=0.5, cap=8.0) for _ in range(200)}
    assert all(1.0 <= d <= 2.0 for d in delays) and len(delays) > 100


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_retryable_failures_and_a_probe_decides() -> None:
    clock = Clock()
    breaker = CircuitBreaker("grok", "m", threshold=3, cooldown_s=30, clock=clock)
    for _ in range(2):
        breaker.check()
        breaker.record_failure(counts=True)
    assert breaker.state == "closed"
    breaker.check()
    breaker.record_failure(counts=True)
    assert (breaker.state, breaker.trips) == ("open", 1)
    clock.now += 18
    with pytest.raises(CircuitOpen, match="grok is cooling down after 3 failures, retry in 12 s") as caught:
        breaker.check()
    assert caught.value.retry_in == pytest.approx(12)
    clock.now += 12
    assert breaker.check() is True  # the probe goes through ...
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpen, match="a probe call is deciding"):
        breaker.check()  # ... alone
    breaker.record_failure(counts=True, probe=True)  # the probe failed: open again, for a new cooldown
    assert (breaker.state, breaker.trips) == ("open", 2)
    clock.now += 30
    breaker.check()
    breaker.record_success()
    assert (breaker.state, breaker.failures) == ("closed", 0)


def test_breaker_ignores_failures_that_prove_the_provider_answers() -> None:
    breaker = CircuitBreaker("grok", "m", threshold=2, cooldown_s=30)
    breaker.record_failure(counts=True)
    breaker.record_failure(counts=False)  # a 400: the provider is up
    breaker.record_failure(counts=True)
    assert breaker.state == "closed" and breaker.failures == 1


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([], 0.5, None), ([3.0], 0.95, 3.0), ([1, 2, 3, 4], 0.5, 2), ([float(n) for n in range(1, 101)], 0.95, 95.0)],
)
def test_percentile(values: list[float], fraction: float, expected: float | None) -> None:
    assert percentile(values, fraction) == expected


def test_metrics_count_outcomes_and_keep_latency_memory_bounded() -> None:
    metrics = AIMetrics()
    for n in range(5_000):
        metrics.succeeded(n / 1000, 10, 3)
    metrics.failed("timeout", 9.0)
    metrics.retried()
    snapshot = metrics.snapshot(breaker_trips=1, breaker_state="closed")
    assert (snapshot.calls, snapshot.successes, snapshot.failures, snapshot.retries) == (5001, 5000, {"timeout": 1}, 1)
    assert (snapshot.input_tokens, snapshot.output_tokens) == (50_000, 15_000)
    assert len(metrics._latencies) == 1_000
    assert snapshot.latency_p50_s == pytest.approx(4.5, abs=0.01)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "7"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "Wed, 25 Nov 2026 00:01:30 GMT"}, 90.0),
        ({"retry-after": "Wed, 25 Nov 2026 00:01:30"}, 90.0),  # no zone: HTTP dates are GMT
        ({"retry-after": "-3"}, 0.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    now = datetime.datetime(2026, 11, 25, 0, 0, 0, tzinfo=datetime.UTC).timestamp()
    assert parse_retry_after(headers, now=now) == seconds


def test_late_failures_neither_trip_the_breaker_again_nor_decide_a_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("grok", "m", threshold=2, cooldown_s=30, clock=clock)
    in_flight = [breaker.attempt(counts=lambda _: True) for _ in range(6)]
    for guard in in_flight:
        guard.__enter__()  # six attempts start while the breaker is closed
    for guard in in_flight:
        failure = ProviderServerError("grok", "m", "boom", 503)
        assert guard.__exit__(ProviderServerError, failure, None) is False  # recorded, and passed on
    assert (breaker.state, breaker.trips) == ("open", 1), "one trip, however many were in flight"
    clock.now += 30
    probe = breaker.attempt(counts=lambda _: True)
    probe.__enter__()
    breaker.record_failure(counts=True, probe=False)
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpen):
        breaker.check()  # still one probe at a time
    probe.__exit__(None, None, None)
    assert breaker.state == "closed"


def test_a_cancelled_attempt_that_was_not_the_probe_does_not_free_the_probe_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker("grok", "m", threshold=1, cooldown_s=30, clock=clock)
    old = breaker.attempt(counts=lambda _: True)
    old.__enter__()  # started while closed
    breaker.record_failure(counts=True)  # another attempt's failure opens the breaker
    clock.now += 30
    assert breaker.check() is True  # the probe
    assert old.__exit__(RuntimeError, RuntimeError("cancelled"), None) is False
    with pytest.raises(CircuitOpen, match="a probe call is deciding"):
        breaker.check()
