"""Draining `serve --http` at SIGTERM: the calls in flight finish and are answered; those still running when
`http.drain_seconds` is over are cut, and answered with a JSON-RPC error.

    drain = Drain(settings.http.drain_seconds)
    server.middleware.append(drain.middleware)    # every MCP request runs in a scope the drain can cancel
    ...                                            # SIGTERM: uvicorn stops accepting, waits for the calls
    drain.cut()                                    # drain_seconds later: what still runs is cancelled

- **A call that finishes** in time is answered in full, on its own stream, and recorded as any call is.
- **A call cut** gets `{"code": -32000, "message": "server shutting down: ..."}` (as stdio's shutdown says it),
  never an empty response; what it had asked of the AIs is cancelled, and recorded as any cancelled call is
  (under spending caps, its reservation is released in the ledger as "cancelled").
  uvicorn gives the cut calls `CUT_GRACE_S` more to write their errors before it closes what is left.
- **sse-starlette** (the SDK's event streams) closes every stream the moment uvicorn is told to exit, which
  would end each call in flight with an empty 200: `hold_event_streams` turns that off while serving (its
  documented switch, `AppStatus.disable_automatic_graceful_drain`), so that a stream ends when its call does.
  The stateless server opens no other stream: a GET to `/mcp` is answered 405 (serve/http/app.py), which the spec
  allows, and so no idle stream can hold the shutdown.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import anyio
from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CONNECTION_CLOSED
from sse_starlette.sse import AppStatus

from serve.stdio import SHUTTING_DOWN

__all__ = ["CUT_GRACE_S", "Drain", "hold_event_streams"]

logger = logging.getLogger("junior_ai.http")

CUT_GRACE_S = 3  # after the drain time, how long the calls cut have to write their error before uvicorn closes


class Drain:
    """The MCP requests in flight, each in a cancel scope of its own, and the cut that ends them.

    Attributes:
        seconds: How long the calls in flight may take after SIGTERM (`http.drain_seconds`).
        cut_called: Whether `cut` was called: requests still arriving are cut at once.
    """

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.cut_called = False
        self._scopes: set[anyio.CancelScope] = set()

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """MCP middleware: run the request so that `cut` can end it with a JSON-RPC error.

        Raises:
            MCPError: the request was cut (CONNECTION_CLOSED, "server shutting down: ...").
        """
        if ctx.request_id is None:  # a notification: nobody waits for an answer to it
            return await call_next(ctx)
        with self._scope():
            return await call_next(ctx)
        # Here only when our cut cancelled it: a cancellation from outside propagates through the scope.
        logger.warning("%s (request %r) cut: still running at the end of the drain", ctx.method, ctx.request_id)
        raise MCPError(
            CONNECTION_CLOSED,
            f"{SHUTTING_DOWN}: the call did not finish in the {self.seconds} s allowed (http.drain_seconds); "
            "ask again once the server is back",
        )

    @contextlib.contextmanager
    def _scope(self) -> Iterator[anyio.CancelScope]:
        scope = anyio.CancelScope()
        if self.cut_called:
            scope.cancel()
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)

    def cut(self) -> None:
        """Cancel every request still running (each is answered with a JSON-RPC error), and any that arrives."""
        self.cut_called = True
        for scope in list(self._scopes):
            scope.cancel()


@contextlib.contextmanager
def hold_event_streams() -> Iterator[None]:
    """While serving: sse-starlette leaves the event streams open when uvicorn is told to exit (each ends with
    its call), instead of closing them all at once. Restored afterwards (the switch is process-wide)."""
    was = AppStatus.enable_automatic_graceful_drain
    AppStatus.enable_automatic_graceful_drain = False  # what its (untyped) disable_automatic_graceful_drain() does
    try:
        yield
    finally:
        AppStatus.enable_automatic_graceful_drain = was
