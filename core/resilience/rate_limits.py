"""Rate limits as pure arithmetic: a sliding window over two fixed ones, and how long a refused caller waits.

Each caller's requests are counted in fixed windows (`window_start`: a multiple of the window's length) and
the previous window's count is kept beside the current one. The rate a request sees is the current count
plus the previous one weighted by how much of the previous window still overlaps the sliding window that
ends now (Cloudflare's approximation):

    seen = previous * (1 - elapsed / window) + current        # elapsed: seconds into the current window

A request is allowed when `seen`, this request included, is at most the limit. A fixed window alone lets a
caller send twice the limit around a boundary (the limit at 0:59, the limit again at 1:00); the weighted
previous count closes that gap. The store (core/store/rates.py) keeps the two counts per caller in one row
and returns them from the statement that counts the request; `verdict` decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "MAX_CALLER_CHARS",
    "RATE_PER_MINUTE",
    "WINDOW_S",
    "RateCount",
    "RateVerdict",
    "counted",
    "retry_after",
    "seen",
    "verdict",
    "window_of",
]

WINDOW_S = 60.0  # rates are per minute
# Requests per minute a caller may send by default over HTTP: a person's clients (one request per tool call)
# stay far below it; a runaway loop or a leaked token is held to two a second.
RATE_PER_MINUTE = 120
MAX_CALLER_CHARS = 255  # a caller's name in the settings (an identity provider's may be longer than a token's)
_SLACK = 1e-9  # float sums drift: a request exactly at the limit is allowed


@dataclass(frozen=True)
class RateCount:
    """A caller's counts as the store holds them once a request is counted.

    Attributes:
        window_start: Where the current fixed window began (seconds since the epoch).
        hits: Requests counted in it, this one included (refused ones too).
        previous_hits: Requests counted in the window just before it (0 when that one saw none).
    """

    window_start: float
    hits: int
    previous_hits: int


@dataclass(frozen=True)
class RateVerdict:
    """Whether a request goes through, and if not, how long until one would.

    Attributes:
        allowed: The request is within the limit.
        limit: Requests allowed per window.
        retry_after_s: Refused: seconds until a request would be allowed (if no other came first); 0 when
            allowed.
    """

    allowed: bool
    limit: int
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """`Retry-After`'s value: whole seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(self.retry_after_s - _SLACK)))


def window_of(now: float, window_s: float = WINDOW_S) -> float:
    """The start of the fixed window holding `now`."""
    return math.floor(now / window_s) * window_s


def counted(count: RateCount | None, now: float, window_s: float = WINDOW_S) -> RateCount:
    """The counts once one more request at `now` is counted (None: the caller's first, or first in a long
    while); core/store/rates.py does the same in one SQL statement. A new window takes the current count as
    its previous one (or 0 after an idle window); a `now` in an earlier window than the counts' (a clock
    behind) counts in theirs."""
    window = window_of(now, window_s)
    if count is None:
        return RateCount(window, 1, 0)
    if window <= count.window_start:
        return RateCount(count.window_start, count.hits + 1, count.previous_hits)
    return RateCount(window, 1, count.hits if window == count.window_start + window_s else 0)


def seen(count: RateCount, now: float, window_s: float = WINDOW_S) -> float:
    """The sliding window's count at `now`. A `now` before the window began (a replica whose clock is
    behind the one that opened the window) counts the previous window in full."""
    elapsed = min(max(now - count.window_start, 0.0), window_s)
    return count.previous_hits * (1 - elapsed / window_s) + count.hits


def retry_after(count: RateCount, limit: int, now: float, window_s: float = WINDOW_S) -> float:
    """Seconds from `now` until one more request would be allowed, should no other come first (0: now).

    Raises:
        ValueError: `limit` is below 1.
    """
    if limit < 1:
        raise ValueError(f"a rate limit is at least 1 request per window, not {limit}")
    start, hits, previous = count.window_start, count.hits, count.previous_hits
    # The next request counts one more. In this window it needs the previous count to have faded enough:
    # previous * (1 - f) + hits + 1 <= limit, f being how far into the window it comes.
    room = limit - hits - 1
    if room >= previous:
        return 0.0
    if room >= 0:
        return _later(start + window_s * (1 - room / previous), now)
    # Else in the next window, where this window's hits are the previous ones and the request is the first:
    # hits * (1 - f) + 1 <= limit.
    return _later(start + window_s * (2 - (limit - 1) / hits), now)


def verdict(count: RateCount, limit: int, now: float, window_s: float = WINDOW_S) -> RateVerdict:
    """Whether the request just counted in `count` is within `limit` requests per window, at `now`.

    Raises:
        ValueError: `limit` is below 1.
    """
    if limit < 1:
        raise ValueError(f"a rate limit is at least 1 request per window, not {limit}")
    if seen(count, now, window_s) <= limit + _SLACK:
        return RateVerdict(True, limit)
    # The refused request stays counted (a caller that keeps knocking stays out): wait as if it had gone.
    return RateVerdict(False, limit, retry_after(count, limit, now, window_s))


def _later(moment: float, now: float) -> float:
    return max(moment - now, 0.0)
