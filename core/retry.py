"""The one retry loop (the SDKs' own are off): which failures to retry, how long to wait, and the loop.

Timing is tenacity's; the policy is two pure functions, `should_retry` and `retry_delay`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from core.deadline import Deadline
from core.errors import (
    InvalidResponse,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
)

__all__ = ["RetryPolicy", "retry_delay", "should_retry", "with_retries"]

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 409, 429})


def should_retry(error: BaseException) -> bool:
    """Whether another attempt could succeed where this one failed."""
    if isinstance(error, (ProviderTimeout, ProviderUnreachable)):
        return True  # the network or the provider was slow: the next attempt may get through
    if isinstance(error, RateLimited):
        return True  # 429: the provider asked us to slow down, not to stop
    if isinstance(error, ProviderServerError):
        return True  # 5xx: the provider's own trouble, often brief
    if isinstance(error, InvalidResponse):
        return True  # a garbled body (a proxy, a cut stream): asking again usually reads clean
    if isinstance(error, ProviderError) and error.status_code in RETRYABLE_STATUS:
        return True  # 408 request timeout, 409 conflict: both transient by definition
    # 400/401/403/404/422, a safety block, an empty answer, an unknown model, an open breaker: final.
    return False


def retry_delay(
    retry: int, retry_after: float | None = None, *, base: float = 0.5, cap: float = 8.0, jitter: float | None = None
) -> float:
    """Seconds to wait before retry number `retry` (1 for the first retry).

    The provider's Retry-After wins when given; otherwise about `base * 2**(retry-1)`, capped at `cap`,
    with "equal jitter" (between half and all of it) so that many clients do not retry in step.
    """
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(cap, base * 2 ** (retry - 1))
    spread = random.random() if jitter is None else jitter
    return float(ceiling / 2 + ceiling / 2 * spread)


class RetryPolicy:
    """How often and how patiently to retry one AI."""

    def __init__(self, attempts: int, base_s: float, max_s: float) -> None:
        self.attempts = attempts
        self.base_s = base_s
        self.max_s = max_s


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    deadline: Deadline,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Await `call()` until it succeeds, fails for good, runs out of attempts, or the next wait would pass
    the deadline. The last error is raised as it was, except a rate limit whose Retry-After does not
    fit in the time left, which says so.

    Raises:
        ProviderError: the last attempt's error.
    """

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return retry_delay(
            state.attempt_number, getattr(error, "retry_after", None), base=policy.base_s, cap=policy.max_s
        )

    def stop(state: RetryCallState) -> bool:
        return state.attempt_number >= policy.attempts or state.upcoming_sleep >= deadline.remaining()

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            on_retry(state.outcome.exception() or RuntimeError("retry"), state.upcoming_sleep)

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(should_retry),
        reraise=True,
        sleep=anyio.sleep,
        before_sleep=before_sleep,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await call()
    except RateLimited as error:
        asks = error.retry_after
        if asks is not None and asks >= deadline.remaining():
            raise RateLimited(
                error.ai,
                error.model,
                f"rate limited, provider asks to wait {asks:g} s (more than the {deadline.remaining():.0f} s left)",
                error.status_code,
                retry_after=asks,
            ) from error
        raise
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
