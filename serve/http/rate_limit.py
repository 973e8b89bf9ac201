"""Per-caller rate limits for `serve --http`: requests to `/mcp` per minute, counted in the shared store, so
that the limit holds however many replicas share it.

    app = with_rate_limits(app, settings.http, running, MCP_PATH)     # in serve/http/app.py's http_app

- **Who.** The caller the tools see (`tools.boundary.caller()`: the verified token's name). The check runs
  inside the SDK's authentication middleware, so a request without a valid token never reaches it (it is
  answered 401 as before). Without authentication (loopback, no tokens) there is no caller and no limit:
  every local client shares the address 127.0.0.1, so a limit by address would be one limit for the whole
  machine, not one per person.
- **How many.** `http.rate_limits[caller]` if set, else `http.rate_per_minute` (null: no limit); a sliding
  minute (core/resilience/rate_limits.py) counted in the store (core/store/rates.py), one statement per request.
- **Over the limit.** 429 with `Retry-After` (whole seconds) and a JSON body saying the limit and when to
  retry. A refused request counts too: a caller that keeps knocking without waiting stays out.
- **Store unavailable.** The request goes through (failing open: a broken store must not take the server
  down), and so do the requests of the next `STORE_PAUSE_S` seconds without asking it again; each is
  counted (`RateLimiter.failed_open`) and a warning is logged, at most once a minute. No token is ever
  logged (only the caller's name).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from callers import Junior
from core.config.http import HttpSettings
from core.errors import StoreUnavailable
from core.resilience.rate_limits import RateVerdict
from tools.context import caller

__all__ = [
    "PURGE_EVERY_S",
    "STORE_PAUSE_S",
    "WARN_EVERY_S",
    "RateLimitMiddleware",
    "RateLimiter",
    "refusal",
    "with_rate_limits",
]

logger = logging.getLogger("junior_ai.http")

PURGE_EVERY_S = 3600.0  # each server deletes idle callers' rows this often, at most (cheap either way)
WARN_EVERY_S = 60.0  # while the store fails, one warning a minute, not one a request
# After the store failed to count, requests go through unchecked this long before it is asked again: a store
# that takes seconds to fail (a host that does not answer) slows one request in this many seconds, not all.
STORE_PAUSE_S = 5.0


class RateLimiter:
    """The rate-limit decisions of one HTTP app: who is limited to what, and what to do when the store fails.

    Attributes:
        failed_open: Requests let through unchecked because the store could not count them.
        refused: Requests answered 429.
    """

    def __init__(
        self,
        settings: HttpSettings,
        running: Callable[[], Junior | None],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.running = running
        self.failed_open = 0
        self.refused = 0
        self._monotonic = monotonic
        self._warned_at: float | None = None
        self._purge_at = 0.0
        self._store_paused_until = 0.0

    async def check(self, who: str | None) -> RateVerdict | None:
        """Count one request by `who` and decide; None when it is not limited (no caller, no limit, the
        application not running, or the store failing: then counted in `failed_open` and warned about)."""
        limit = self.settings.rate_limit_for(who) if who is not None else None
        app = self.running()
        if who is None or limit is None or app is None:
            return None
        if self._monotonic() < self._store_paused_until:
            self._failed_open(None)
            return None
        try:
            store = await app.store()
            verdict = await store.rates.admit(who, limit)
        except StoreUnavailable as error:
            self._store_paused_until = self._monotonic() + STORE_PAUSE_S
            self._failed_open(error)
            return None
        if not verdict.allowed:
            self.refused += 1
            retry = verdict.retry_after_header
            logger.info("rate limit: %s is over %d requests a minute; retry in %s s", who, limit, retry)
        if self._monotonic() >= self._purge_at:
            self._purge_at = self._monotonic() + PURGE_EVERY_S
            try:
                await store.rates.purge()
            except StoreUnavailable as error:  # the rows only take room: try again next time
                logger.warning("rate limits: could not delete idle callers' counts: %s", error)
        return verdict

    def _failed_open(self, error: StoreUnavailable | None) -> None:
        self.failed_open += 1
        now = self._monotonic()
        if error is not None and (self._warned_at is None or now - self._warned_at >= WARN_EVERY_S):
            self._warned_at = now
            logger.warning(
                "rate limits not enforced (the store cannot count; %d let through unchecked so far): %s",
                self.failed_open,
                error,
            )


class RateLimitMiddleware:
    """ASGI middleware: requests to `path` by a caller over their limit are answered 429; others go on."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, path: str) -> None:
        self.app = app
        self.limiter = limiter
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            verdict = await self.limiter.check(caller())
            if verdict is not None and not verdict.allowed:
                status, headers, body = refusal(verdict)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def refusal(verdict: RateVerdict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The 429 answer to a refused request: status, headers (`Retry-After` in whole seconds), JSON body."""
    seconds = verdict.retry_after_header
    body = json.dumps(
        {
            "error": "rate_limited",
            "error_description": f"over the limit of {verdict.limit} requests a minute; retry after {seconds} s",
            "limit_per_minute": verdict.limit,
            "retry_after_s": int(seconds),
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", seconds.encode()),
    ]
    return 429, headers, body


def with_rate_limits(
    app: Starlette, settings: HttpSettings, running: Callable[[], Junior | None], path: str
) -> Starlette:
    """`app` with the rate limits on `path`, checked after authentication: the innermost of its middleware
    (the SDK's authentication comes first in `user_middleware`). The limiter is `app.state.rate_limiter`."""
    limiter = RateLimiter(settings, running)
    app.state.rate_limiter = limiter
    app.user_middleware.append(Middleware(RateLimitMiddleware, limiter=limiter, path=path))
    return app
