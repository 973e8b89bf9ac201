"""The HTTP mode's access log: one stderr line per request, never a header's value, a body or a query.

`AccessLog` wraps the ASGI application and, when a request has ended (its last byte sent, or the client
gone), logs on `junior_ai.access` at INFO:

    junior-ai INFO: POST /mcp 200 1523 ms alice

the method, the path (without its query string, which may carry a secret; unprintable characters shown
as `?`, long paths shortened), the status (`-` when no response was started), how long it took, and the
caller's name once the bearer check has named one (`-` otherwise). The Authorization header, bodies and
queries are never read. The server's log handlers redact what they print as well (core/redact.py).

uvicorn's own access line is turned off: it shows the query string, and neither the time nor the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOGGER", "AccessLog", "access_line"]

ACCESS_LOGGER = "junior_ai.access"
MAX_PATH_CHARS = 200  # a path is ours ("/mcp", "/healthz"); anything longer is a probe, and shown short


def access_line(method: str, path: str, status: int | None, seconds: float, caller: str | None) -> str:
    """The log line for one request (a pure function; `AccessLog` gathers its parts)."""
    shown = "".join(char if char.isprintable() and not char.isspace() else "?" for char in path[:MAX_PATH_CHARS])
    if len(path) > MAX_PATH_CHARS:
        shown += "…"
    return f"{method} {shown} {status if status is not None else '-'} {seconds * 1000:.0f} ms {caller or '-'}"


class AccessLog:
    """ASGI middleware: the access line of every HTTP request, logged when the request ends."""

    def __init__(
        self,
        app: ASGIApp,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan's messages are not requests
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status: int | None = None

        async def send_watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        finally:
            self.logger.info(
                "%s",
                access_line(
                    str(scope.get("method", "?")),
                    str(scope.get("path", "")),
                    status,
                    self.clock() - started,
                    _caller(scope),
                ),
            )


def _caller(scope: Scope) -> str | None:
    """The caller the bearer check named (Starlette's authentication sets `scope["user"]`), or None."""
    user = scope.get("user")  # set on this same scope by the authentication middleware further in
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    name = getattr(user, "display_name", None)
    return name if isinstance(name, str) and name else None
