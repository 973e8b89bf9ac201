"""A loopback identity provider that answers RFC 7662 token introspection, for the OAuth resource-server tests.

    POST http://127.0.0.1:PORT/introspect     form: token, token_type_hint; client auth: HTTP Basic or form

The tokens it knows are `FakeIdP.tokens` (token -> the claims its answer carries, `active` included); any
other token is `{"active": false}`. A client that does not authenticate as `client_id` / `client_secret`
gets 401. `answer` switches the whole endpoint to a failure: "garbage" (200, not JSON), "no-active" (JSON
without `active`), "error" (HTTP 500) or "hang" (no answer until the fake stops). Every request's client
authentication method is recorded, and how many requests came.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.loopback import InThread, serve_in_thread

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "FakeIdP"]

CLIENT_ID = "junior-rs"
CLIENT_SECRET = "idp-client-secret-5e1f0a9d2c7b4836"  # a canary too: it must appear in no log line

HANG_S = 600.0
Failure = Literal["garbage", "no-active", "error", "hang"]


@dataclass
class FakeIdP:
    """The fake identity provider; `start()` (or `with`) serves it on a free loopback port."""

    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    answer: Failure | None = None
    methods: list[str] = field(default_factory=list)  # "basic" or "post", per authenticated request
    port: int = 0
    _running: InThread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def introspection_endpoint(self) -> str:
        return f"{self.issuer}/introspect"

    def start(self) -> FakeIdP:
        app = Starlette(routes=[Route("/introspect", self._introspect, methods=["POST"])])
        self._running = serve_in_thread(app, "fake identity provider", timeout_graceful_shutdown=1)
        self.port = self._running.port
        return self

    def stop(self) -> None:
        if self._running:
            self._running.stop(force=True)

    def __enter__(self) -> FakeIdP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _introspect(self, request: Request) -> Response:
        form = await request.form()
        method = self._client_auth(request.headers.get("authorization", ""), form)
        if method is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        self.methods.append(method)
        if self.answer == "hang":
            await asyncio.sleep(HANG_S)  # far past any client's timeout; stopping the fake ends it
        if self.answer == "garbage":
            return Response(b"<html>maintenance</html>", media_type="text/html")
        if self.answer == "no-active":
            return JSONResponse({"sub": "carol"})
        if self.answer == "error":
            return JSONResponse({"error": "server_error"}, status_code=500)
        token = form.get("token")
        claims = self.tokens.get(token) if isinstance(token, str) else None
        return JSONResponse(claims if claims is not None else {"active": False})

    @staticmethod
    def _client_auth(header: str, form: Any) -> str | None:
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if (unquote_plus(user), unquote_plus(password)) == (CLIENT_ID, CLIENT_SECRET):
                return "basic"
            return None
        if (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET):
            return "post"
        return None
