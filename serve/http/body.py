"""Reading a request's body for `/mcp`, before the SDK sees it: over `http.max_body_bytes` is 413 however the
body is framed (Content-Length or chunked), and a client that hangs up mid-body costs one quiet log line.

    app.user_middleware.append(Middleware(BodyReader, path=MCP_PATH, max_bytes=...))    # serve/http/app.py

The SDK reads the whole body anyway (a JSON-RPC message is parsed whole), so reading it here first costs
nothing more: the SDK is handed the body in one piece. Without this, a client gone mid-body made the SDK
log a full ERROR traceback (Starlette's `ClientDisconnect`) and a warning about a stdin line, each time.
Runs after authentication and the rate limit: nobody's body is read who is refused anyway.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyReader", "too_large"]

logger = logging.getLogger("junior_ai.http")


def too_large(max_bytes: int) -> PlainTextResponse:
    """The 413 answer: what was wrong, and the limit."""
    return PlainTextResponse(
        f"Request body too large: the limit is {max_bytes:,} bytes (http.max_body_bytes)", status_code=413
    )


class BodyReader:
    """ASGI middleware: a POST to `path` is read whole (at most `max_bytes`) before `app` is called."""

    def __init__(self, app: ASGIApp, *, path: str, max_bytes: int) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(self.max_bytes)(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                logger.info("POST %s: the client hung up after %d bytes of its body", self.path, len(body))
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await too_large(self.max_bytes)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replaying(bytes(body), receive), send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` whose first message is the whole `body`; then the real one (a disconnect, later)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
