"""`GET /dashboard`: the spend panel as a web page, for a team sharing one `serve --http`; `GET /dashboard.json`:
the same data as JSON. Both behind the same bearer/OAuth check as `/mcp` (no token or a bad one: 401 with the
same `WWW-Authenticate`; a token without the required scopes: 403) and the same Host check.

What is shown (`dashboard_data`) is what the spend panel gets from server_status inside an MCP Apps host: the
tool's structured content (`structuredContent`) and the last 30 days day by day (`_meta`, under
tools/spend_history.py's `SPEND_HISTORY_META`). Who sees what:

- a caller named in `http.admins`, or anyone when no tokens or OAuth are configured (loopback only: one
  person owns the server), sees everyone's spend;
- any other caller sees their own: the spend lines, the by-caller lines and the history count only their
  calls, and no other caller is named. The caps still say what everyone spent against them: they hold for all.

The page may reach nothing (`Content-Security-Policy: default-src 'none'`, inline style and script only, images
as data: URLs), is never cached and sends no Referer; no token is ever written into it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from callers import Junior
from core.config.http import HttpSettings
from serve.http.auth import Callers
from tools.panels import panel_html
from tools.spend_history import SPEND_HISTORY_META, spend_history
from tools.spending import spend_report
from tools.status import server_status

__all__ = ["DASHBOARD_JSON_PATH", "DASHBOARD_PATH", "PAGE_HEADERS", "dashboard_data", "dashboard_routes", "sees_all"]

DASHBOARD_PATH = "/dashboard"
DASHBOARD_JSON_PATH = "/dashboard.json"
PAGE_HEADERS = MappingProxyType(
    {
        # The page is self-contained: it may load, send and embed nothing.
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",  # one caller's spend stays out of shared caches and the browser's history
        "Referrer-Policy": "no-referrer",
    }
)


def sees_all(http: HttpSettings, caller: str | None, *, authenticated: bool) -> bool:
    """Whether `caller` may see everyone's spend: an admin, or anyone when nobody is authenticated (no tokens
    and no OAuth: loopback, one person)."""
    return not authenticated or (caller is not None and caller in http.admins)


async def dashboard_data(app: Junior, *, caller: str | None) -> dict[str, Any]:
    """server_status's structured content and the spend history, as the spend panel reads them; with
    `caller`, only that caller's spend (None: everyone's). Redacted like every tool result."""
    status = server_status(app)
    status.spend = await spend_report(app, caller=caller)
    history = await spend_history(app, caller=caller)
    data = {
        "structuredContent": status.model_dump(mode="json"),
        "_meta": {SPEND_HISTORY_META: history.model_dump(mode="json")},
    }
    cleaned: dict[str, Any] = app.redactor.clean_data(data)
    return cleaned


def dashboard_routes(
    http: HttpSettings,
    callers: Callers | None,
    checked: TransportSecurityMiddleware,
    running: Callable[[], Junior | None],
) -> list[Route]:
    """The two routes, behind the Host check (`checked`) and, when callers are configured, the SDK's own
    bearer check with `/mcp`'s scopes and resource metadata."""

    async def answer(request: Request, page: bool) -> Response:
        if (refused := await checked.validate_request(request)) is not None:
            return refused
        app = running()
        if app is None:
            return JSONResponse({"error": "the server is starting or stopping"}, 503, {"Retry-After": "1"})
        user = request.scope.get("user")
        caller = user.access_token.client_id if isinstance(user, AuthenticatedUser) else None
        everyone = sees_all(http, caller, authenticated=callers is not None)
        if not everyone and caller is None:  # the bearer check passed nobody nameless; should it ever, show nothing
            return JSONResponse({"error": "no caller named by the token"}, 403)
        data = await dashboard_data(app, caller=None if everyone else caller)
        if page:
            return HTMLResponse(panel_html("spend", data=data), headers=dict(PAGE_HEADERS))
        return JSONResponse(data, headers=dict(PAGE_HEADERS))

    def guarded(page: bool) -> ASGIApp:
        async def endpoint(request: Request) -> Response:
            return await answer(request, page)

        served = _AsgiApp(request_response(endpoint))
        if callers is None:
            return served
        auth = callers.auth
        metadata = build_resource_metadata_url(auth.resource_server_url) if auth.resource_server_url else None
        return RequireAuthMiddleware(served, auth.required_scopes or [], metadata)

    return [
        Route(DASHBOARD_PATH, guarded(page=True), methods=["GET"]),
        Route(DASHBOARD_JSON_PATH, guarded(page=False), methods=["GET"]),
    ]


class _AsgiApp:
    """An ASGI app that is not a function: Starlette's `Route` takes a function for a request handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
