"""Pure resilience policy, table-driven: what to retry, how long to wait, the retry loop's decisions, the
breaker, the metrics. Nothing here sleeps: the loop gets a sleep that records its waits and moves a fake clock."""

from __future__ import annotations

import datetime
import math
import random

import anyio
import pytest

from ai.errors import parse_retry_after
from core.errors import (
    AuthenticationFailed,
    BadRequest,
    CircuitOpen,
    ContentBlocked,
    DeadlineReached,
    EmptyResponse,
    InternalError,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
)
from core.resilience.breaker import CircuitBreaker
from core.resilience.deadline import Deadline
from core.resilience.metrics import AIMetrics, percentile
from core.resilience.retry import RetryPolicy, retry_delay, should_retry, with_retries


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
        (InternalError("a", "m", "internal error while reading the answer (TypeError)"), False),
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


class Scripted:
    """A retry loop's world: attempts that play `outcomes` in order, and a sleep that only moves a fake
    clock, recording each wait."""

    def __init__(self, outcomes: list[str | BaseException]) -> None:
        self.clock = Clock()
        self.slept: list[float] = []
        self.pending = list(outcomes)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.now += seconds

    async def call(self) -> str:
        outcome = self.pending.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


BOOM = ProviderServerError("a", "m", "boom", 503)
BAD = BadRequest("a", "m", "bad", 400)
SLOW_DOWN_4 = RateLimited("a", "m", "429", retry_after=4.0)
SLOW_DOWN_30 = RateLimited("a", "m", "429", retry_after=30.0)
BUG = ValueError("a bug")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("outcomes", "attempts", "deadline_s", "waits", "ends"),
    [
        pytest.param(["ok"], 3, 10.0, [], "ok", id="success at once: no wait"),
        pytest.param([BOOM, "ok"], 3, 10.0, [1.0], "ok", id="a 503 is retried after base_s"),
        pytest.param([BOOM, BOOM, "ok"], 3, 10.0, [1.0, 2.0], "ok", id="each retry doubles the wait"),
        pytest.param([BOOM, BOOM, BOOM], 3, 10.0, [1.0, 2.0], BOOM, id="out of attempts: the last error as it was"),
        pytest.param([BOOM], 1, 10.0, [], BOOM, id="one attempt in all: no retry"),
        pytest.param([BAD, "ok"], 3, 10.0, [], BAD, id="a 400 is final"),
        pytest.param([BUG, "ok"], 3, 10.0, [], BUG, id="a bug is not a provider failure: passes through"),
        pytest.param([SLOW_DOWN_4, "ok"], 3, 10.0, [4.0], "ok", id="Retry-After wins over the backoff"),
        pytest.param(
            [SLOW_DOWN_30, "ok"],
            3,
            10.0,
            [],
            "provider asks to wait 30 s \\(more than the 10 s left\\)",
            id="Retry-After past the deadline: says so",
        ),
        pytest.param(
            [BOOM, SLOW_DOWN_30],
            2,
            10.0,
            [1.0],
            "provider asks to wait 30 s \\(more than the 9 s left\\)",
            id="out of attempts on a rate limit that would not fit either: says so",
        ),
        pytest.param([BOOM, SLOW_DOWN_4], 2, 10.0, [1.0], SLOW_DOWN_4, id="out of attempts, the Retry-After fits"),
    ],
)
async def test_the_retry_loop_decides(
    outcomes: list[str | BaseException],
    attempts: int,
    deadline_s: float,
    waits: list[float],
    ends: str | BaseException,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(random, "random", lambda: 1.0)  # no jitter: each wait is its whole ceiling
    world = Scripted(outcomes)
    told: list[tuple[BaseException, float]] = []
    policy = RetryPolicy(attempts, base_s=1.0, max_s=8.0, sleep=world.sleep)
    deadline = Deadline(deadline_s, clock=world.clock)
    retrying = with_retries(world.call, policy, deadline, on_retry=lambda e, s: told.append((e, s)))
    if ends == "ok":
        assert await retrying == "ok"
    elif isinstance(ends, BaseException):
        with pytest.raises(type(ends)) as caught:
            await retrying
        assert caught.value is ends
    else:
        with pytest.raises(RateLimited, match=ends) as caught:
            await retrying
        assert caught.value.retry_after == 30.0 and caught.value.__cause__ is SLOW_DOWN_30
    assert world.slept == waits
    assert [delay for _, delay in told] == waits, "on_retry hears of every wait, before it"
    assert len(outcomes) - len(world.pending) == len(waits) + 1, "one attempt more than waits"


LIMITED = RateLimited("a", "m", "rate limited")
SLOW = ProviderTimeout("a", "m", "no answer within 5 s")  # the AI's own timeout: the provider was slow
CUT = DeadlineReached("a", "m", "no answer within 0.4 s")  # the call's deadline cut an attempt short


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("outcomes", "deadline_s", "waits", "raised", "detail"),
    [
        pytest.param(
            [LIMITED, CUT],
            10.0,
            [1.0],
            LIMITED,
            "rate limited (HTTP 429), retried once until the deadline",
            id="the deadline cuts a retry short: the rate limit is kept",
        ),
        pytest.param(
            [LIMITED, BOOM, CUT],
            10.0,
            [1.0, 2.0],
            BOOM,
            "boom (HTTP 503), retried twice until the deadline",
            id="the provider's last error, not its first",
        ),
        pytest.param(
            [SLOW, CUT],
            10.0,
            [1.0],
            SLOW,
            "no answer within 5 s, retried once until the deadline",
            id="the AI's own timeout, then the deadline",
        ),
        pytest.param(
            [BOOM, BOOM, "ok"],
            2.5,
            [1.0],
            BOOM,
            "boom (HTTP 503), retried once until the deadline",
            id="the second wait would pass the deadline",
        ),
        pytest.param(
            [BOOM, "ok"],
            1.0,
            [],
            BOOM,
            "boom (HTTP 503), not retried: too little time was left before the deadline",
            id="a wait that ends exactly at the deadline is not taken",
        ),
        pytest.param([CUT], 10.0, [], CUT, "no answer within 0.4 s", id="only the deadline: it says so"),
        pytest.param([BOOM, BOOM, BOOM], 10.0, [1.0, 2.0], BOOM, "boom (HTTP 503)", id="out of attempts: no deadline"),
    ],
)
async def test_a_deadline_that_ends_the_retries_keeps_the_last_cause(
    outcomes: list[str | ProviderError],
    deadline_s: float,
    waits: list[float],
    raised: ProviderError,
    detail: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(random, "random", lambda: 1.0)  # no jitter: each wait is its whole ceiling
    world = Scripted(list(outcomes))
    policy = RetryPolicy(3, base_s=1.0, max_s=8.0, sleep=world.sleep)
    with pytest.raises(ProviderError) as caught:
        await with_retries(world.call, policy, Deadline(deadline_s, clock=world.clock))
    error = caught.value
    assert (type(error), error.kind, error.status_code, error.detail) == (
        type(raised),
        raised.kind,
        raised.status_code,
        detail,
    )
    note = detail.removeprefix(raised.detail)
    assert str(error) == f"{raised}{note}", "the message: the AI, its model, the status, the reason, the note"
    assert world.slept == waits
    if outcomes[-1] is CUT and raised is not CUT:
        assert error.__cause__ is CUT, "the deadline stays visible in the chain"
    assert raised.retries_before_deadline is None and "deadline" not in str(raised), "the original is left alone"


@pytest.mark.anyio
async def test_a_cancelled_wait_is_not_chained_to_the_provider_error() -> None:
    async def call() -> str:
        raise BOOM

    async def sleep(seconds: float) -> None:
        raise anyio.get_cancelled_exc_class()  # a cancellation arriving during the wait

    with pytest.raises(anyio.get_cancelled_exc_class()) as caught:
        await with_retries(call, RetryPolicy(2, 0.0, 0.0, sleep=sleep), Deadline(10.0, clock=Clock()))
    assert caught.value.__context__ is None


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1, not 0"):
        RetryPolicy(0, 0.5, 8.0)


def test_a_deadline_reads_its_clock() -> None:
    clock = Clock()
    deadline = Deadline(10.0, clock=clock)
    clock.now += 4
    assert (deadline.remaining(), deadline.share(3)) == (6.0, 2.0)
    clock.now += 7
    assert deadline.remaining() == 0.0 and deadline.expired


def test_a_step_of_a_deadline_gets_its_share_at_most_and_never_ends_after_it() -> None:
    clock = Clock()
    deadline = Deadline(10.0, clock=clock)
    assert Deadline.of(deadline) is deadline, "a running deadline is carried, not started again"
    clock.now += 4
    fair, capped = deadline.step(3), deadline.step(2, at_most=1.5)
    assert (fair.seconds, fair.remaining(), capped.seconds, capped.remaining()) == (2.0, 2.0, 1.5, 1.5)
    clock.now += 5
    assert (fair.remaining(), deadline.remaining(), deadline.step(1).remaining()) == (0.0, 1.0, 1.0)
    assert Deadline.of(7.0, clock).remaining() == 7.0, "seconds start now"


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
    snapshot = metrics.snapshot(breaker_trips=1, breaker_state="closed", concurrency_limit=8)
    assert (snapshot.calls, snapshot.successes, snapshot.failures, snapshot.retries) == (5001, 5000, {"timeout": 1}, 1)
    assert (snapshot.input_tokens, snapshot.output_tokens) == (50_000, 15_000)
    assert len(metrics._latencies) == 1_000
    assert snapshot.latency_p50_s == pytest.approx(4.5, abs=0.01)


def test_the_latency_histogram_counts_every_call_cumulatively_with_bounds_inclusive() -> None:
    metrics = AIMetrics()
    for latency in (0.05, 0.1, 0.3, 2.5, 400.0):
        metrics.succeeded(latency, None, None, cost_usd=0.25)
    metrics.failed("timeout", 1.0)
    histogram = metrics.histogram()
    counts = dict(histogram.buckets)
    assert (counts[0.1], counts[0.5], counts[1.0], counts[2.5], counts[300.0], counts[math.inf]) == (2, 3, 4, 5, 5, 6)
    assert histogram.sum_s == pytest.approx(403.95)
    assert metrics.cost_usd == pytest.approx(1.25)


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
