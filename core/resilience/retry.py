"""The one retry loop (the SDKs' own are off): which failures to retry, how long to wait, and the loop.

The policy is two pure functions, `should_retry` and `retry_delay`; `with_retries` is a plain
`for retries_taken in range(attempts)` loop over them, in the manner of openai-python's `_base_client`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from core.errors import (
    AnswerTooLarge,
    DeadlineReached,
    InternalError,
    InvalidResponse,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
)
from core.resilience.deadline import Deadline

__all__ = ["RetryPolicy", "retry_delay", "should_retry", "with_retries"]

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 409, 429})


def should_retry(error: BaseException) -> bool:
    """Whether another attempt could succeed where this one failed."""
    if isinstance(error, InternalError):
        return False  # our own bug: the next answer would meet it too (and be billed again)
    if isinstance(error, (ProviderTimeout, ProviderUnreachable)):
        return True  # the network or the provider was slow: the next attempt may get through
    if isinstance(error, RateLimited):
        return True  # 429: the provider asked us to slow down, not to stop
    if isinstance(error, ProviderServerError):
        return True  # 5xx: the provider's own trouble, often brief
    if isinstance(error, AnswerTooLarge):
        return False  # past max_answer_bytes: asking again brings as long an answer, at the same cost
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


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one AI.

    Attributes:
        attempts: Attempts in all, the first included (at least 1).
        base_s: The first retry's wait before jitter; each further retry doubles it.
        max_s: The longest wait between two attempts (a provider's Retry-After aside).
        sleep: How to wait; tests pass one that records the waits instead of taking them.
    """

    attempts: int
    base_s: float
    max_s: float
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, kw_only=True, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {self.attempts}")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    deadline: Deadline,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Await `call()` until it succeeds, fails for good, runs out of attempts, or the next wait would pass
    the deadline. `on_retry(error, delay)` is told of each retry before its wait.

    The last error is raised as it was, except when the deadline ended the retries: then it is the
    provider's last error, saying so ("rate limited (HTTP 429), retried twice until the deadline"), also
    when the deadline cut the last attempt short (a DeadlineReached says nothing of the provider; it is
    raised itself only when the provider gave no error before it). A rate limit whose Retry-After does not
    fit in the time left says that instead.

    Raises:
        ProviderError: the last attempt's error, or the provider's last before the deadline.
    """
    cause: ProviderError | None = None  # the provider's last error, the one a deadline must not hide
    for retries_taken in range(policy.attempts):
        try:
            return await call()
        except DeadlineReached as error:
            if cause is None:
                raise  # the first attempt: the deadline is the whole story
            raise cause.ended_by_deadline(retries_taken) from error
        except ProviderError as error:
            if not should_retry(error):
                raise  # final: asking again would fail the same way
            if retries_taken + 1 >= policy.attempts:
                _raise_if_wait_does_not_fit(error, deadline)
                raise  # out of attempts
            delay = _calculate_retry_timeout(retries_taken + 1, error, policy)
            if delay >= deadline.remaining():
                _raise_if_wait_does_not_fit(error, deadline)
                # The wait would outlast the deadline: fail now with the real error, not later with ours.
                raise error.ended_by_deadline(retries_taken) from error
            cause = error
            if on_retry is not None:
                on_retry(error, delay)
        # Outside the `except`: a cancellation during the wait is not chained to the provider's error.
        await policy.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _calculate_retry_timeout(retry: int, error: ProviderError, policy: RetryPolicy) -> float:
    """The wait before retry number `retry`, honouring the provider's Retry-After when it sent one."""
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    return retry_delay(retry, retry_after, base=policy.base_s, cap=policy.max_s)


def _raise_if_wait_does_not_fit(error: ProviderError, deadline: Deadline) -> None:
    """A rate limit whose Retry-After is longer than the time left is raised saying so.

    Raises:
        RateLimited: naming the wait the provider asked for and the time that was left.
    """
    asks = error.retry_after if isinstance(error, RateLimited) else None
    if asks is None or asks < deadline.remaining():
        return
    raise RateLimited(
        error.ai,
        error.model,
        f"rate limited, provider asks to wait {asks:g} s (more than the {deadline.remaining():.0f} s left)",
        error.status_code,
        retry_after=asks,
    ) from error
