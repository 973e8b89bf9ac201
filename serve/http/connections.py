"""The connections `serve --http` keeps: at most `http.max_connections`, and none that sits on a half-sent
request longer than `http.header_timeout_seconds`.

    config = uvicorn.Config(app, http=guarded_protocol(settings.http), ...)     # serve/http/app.py

uvicorn has neither: it arms no timer before a request's headers are complete (its keep-alive timeout starts
only after a response), and its `limit_concurrency` answers 503 only once a request's headers have arrived,
so connections that never finish their headers are kept forever, each holding a file descriptor. A
thousand of them, unauthenticated, stop a server with the usual 1,024 descriptors from accepting anyone.
`guarded_protocol` is uvicorn's h11 protocol with both:

- **A connection not being served** (no request in progress: it is new, between requests, or its answer is
  sent and the client still sends) must complete a request's headers within `header_timeout_seconds` of
  its first byte (or of opening); else it is closed. An idle connection between requests is closed by
  uvicorn's keep-alive timeout, as before.
- **At `max_connections`,** a new connection takes the place of the oldest one not being served (closed);
  when every connection is serving a request, the new one is answered 503 and closed. A flood of half-sent
  requests never keeps out a client that sends a whole one.
- **The accept backlog** (`accept_backlog`) is small: asyncio accepts up to that many connections at a time
  before any of them reaches the protocol, so it bounds the descriptors held beyond `max_connections` in a
  flood (about three batches), well inside the usual 1,024.

Each kind of closing is counted and logged as one warning a minute at most, never one a connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from core.config.http import HttpSettings

__all__ = [
    "ACCEPT_BACKLOG",
    "REFUSAL",
    "WARN_EVERY_S",
    "ConnectionGuard",
    "GuardedH11Protocol",
    "accept_backlog",
    "guarded_protocol",
]

logger = logging.getLogger("junior_ai.http")

ACCEPT_BACKLOG = 128  # the listen queue, and how many asyncio accepts at once (uvicorn's is 2,048)
WARN_EVERY_S = 60.0  # each kind of closing is logged once a minute at most, with its count so far
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"retry-after: 1\r\ncontent-length: 38\r\n\r\ntoo many connections; try again soon\r\n"
)


class ConnectionGuard:
    """The limits every connection of one server is held to, and what they closed.

    Attributes:
        max_connections: Connections open at once, at most.
        header_timeout_s: How long a connection not being served may take to send a request's headers.
        timed_out: Connections closed for not sending a request's headers in time.
        evicted: Connections not being served, closed to make room for a new one.
        refused: New connections answered 503, every connection being busy with a request.
    """

    def __init__(
        self, max_connections: int, header_timeout_s: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.timed_out = 0
        self.evicted = 0
        self.refused = 0
        self._monotonic = monotonic
        self._warned_at: dict[str, float] = {}

    def now(self) -> float:
        """The guard's clock (monotonic seconds)."""
        return self._monotonic()

    def count(self, kind: str, message: str) -> None:
        """Count one closing of `kind` ("timed_out", "evicted", "refused") and warn, once a minute at most."""
        setattr(self, kind, getattr(self, kind) + 1)
        now = self._monotonic()
        if now - self._warned_at.get(kind, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned_at[kind] = now
            logger.warning("%s (%d so far)", message, getattr(self, kind))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol held to its `guard`'s connection limit and header timeout."""

    guard: ConnectionGuard  # set on the class `guarded_protocol` makes

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.opened_at = 0.0
        self._header_timer: asyncio.TimerHandle | None = None

    @property
    def serving(self) -> bool:
        """Whether a request is in progress (its headers came, its answer is not all sent)."""
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened_at = self.guard.now()
        if len(self.connections) > self.guard.max_connections and not self._make_room():
            self.guard.count(
                "refused",
                f"refused a connection: {self.guard.max_connections} are open, each serving a request "
                "(http.max_connections)",
            )
            self.connections.discard(self)
            transport.write(REFUSAL)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self.serving:
            self._arm()  # the first byte of a request: its headers have the timeout from now
        super().data_received(data)
        if self.serving:
            self._disarm()  # the headers came: what happens now is the request's business

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.guard.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.serving or self.transport.is_closing():
            return
        self.guard.count(
            "timed_out",
            f"closed a connection that sent no whole request headers in {self.guard.header_timeout_s:g} s "
            "(http.header_timeout_seconds)",
        )
        self._close()

    def _make_room(self) -> bool:
        """Close the oldest other connection not being served; whether there was one."""
        idle = [
            other
            for other in self.connections
            if isinstance(other, GuardedH11Protocol) and other is not self and not other.serving
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda other: other.opened_at)
        self.guard.count(
            "evicted",
            f"{self.guard.max_connections} connections open (http.max_connections): closed the oldest "
            "not serving a request to make room",
        )
        oldest._close()
        return True

    def _close(self) -> None:
        self._disarm()
        self.connections.discard(self)  # its place is free now, not once the transport has let go
        self.transport.close()


def guarded_protocol(settings: HttpSettings) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's `http=`: h11, held to `settings`' connection limit and header
    timeout (one guard, shared by the server's connections)."""
    guard = ConnectionGuard(settings.max_connections, settings.header_timeout_seconds)

    class Guarded(GuardedH11Protocol):
        pass

    Guarded.guard = guard
    return Guarded


def accept_backlog(settings: HttpSettings) -> int:
    """The listen backlog: `ACCEPT_BACKLOG`, or fewer when fewer connections may be kept at all."""
    return min(ACCEPT_BACKLOG, settings.max_connections)
