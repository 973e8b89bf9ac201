"""The HTTP transport `serve --http` runs: the SDK's Streamable HTTP at `/mcp`, stateless, under uvicorn.

Stateless: every request stands alone (no session to find), so any replica can answer any request. The
application (clients, guards, store) is built once, when the server starts, and shared by all requests.

- **Who may call** (serve/http/auth.py). Bearer tokens, through the SDK's own hooks (`TokenVerifier` +
  `AuthSettings`): the configuration holds each token's sha256 under its caller's name (core/config/http.py),
  and a verified request carries `AccessToken.client_id` = that name (`mcp.server.auth.middleware.auth_context
  .get_access_token()` in a tool). No token or a wrong one: 401 with `WWW-Authenticate: Bearer`.
- **OAuth.** With `http.oauth`, tokens an identity provider issued are checked by introspection, and the
  SDK serves the protected resource metadata (serve/http/oauth.py); configured tokens keep working too.
- **Where it may be reached.** `exposure_problem`: a non-loopback address without any token (or OAuth) is
  refused. On loopback, auth is on once tokens or OAuth are configured.
- **Web hygiene.** Host and Origin are checked by the SDK's `TransportSecuritySettings` (the bound
  address and its localhost forms, plus `http.allowed_hosts` / `http.allowed_origins`): a bad Host is
  421, a bad Origin 403; on `/healthz` and `/metrics` too (a page that rebinds its name to this address
  reads nothing). A GET to `/mcp` is 405: a stateless server has no stream of its own to offer. A body over
  `http.max_body_bytes` is 413, chunked or not, and a client gone mid-body is one INFO line
  (serve/http/body.py).
- **Connections.** At most `http.max_connections` at once, and a connection that has not sent a request's
  headers within `http.header_timeout_seconds` is closed (serve/http/connections.py).
- **`GET /healthz`**, without auth: `{"status": "ok", "ais": [...usable], "store": "ok" | why not}`.
- **`GET /dashboard`** (and `/dashboard.json`), behind the same auth as `/mcp`: the spend panel, everyone's
  spend for `http.admins`, their own for other callers (serve/http/dashboard.py).
- **`GET /metrics`**, without auth: per-AI metrics in the Prometheus text format (serve/http/metrics.py),
  unless `"http": {"metrics": false}`.
- **Stopping.** SIGTERM or SIGINT: new connections are refused at once, the calls in flight get up to
  `http.drain_seconds` and are answered; those still running then are cut, each answered with a JSON-RPC
  error (serve/http/drain.py); the application closes and `serve_http` returns (exit 0).
- **Access log.** One stderr line per request (serve/http/access_log.py), unless `"http": {"access_log": false}`.

Imported only on the `--http` path: uvicorn, Starlette and prometheus_client stay off the stdio start-up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from callers import Junior
from core.config.http import TOKENS_ENV
from core.config.settings import Settings
from core.errors import StoreUnavailable
from serve.http.access_log import ACCESS_LOGGER, AccessLog
from serve.http.auth import who_may_call
from serve.http.body import BodyReader
from serve.http.connections import accept_backlog, guarded_protocol
from serve.http.dashboard import dashboard_routes
from serve.http.drain import CUT_GRACE_S, Drain, hold_event_streams
from serve.http.metrics import METRICS_PATH, RateCollector, metrics_endpoint, metrics_registry
from serve.http.rate_limit import with_rate_limits
from serve.http.worker_metrics import PUBLISH_EVERY_S, WorkerMetrics
from serve.http.workers import WorkerSpec, follow_parent

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "HEALTH_PATH",
    "MCP_PATH",
    "exposure_problem",
    "http_app",
    "is_loopback",
    "serve_http",
    "transport_security",
]

logger = logging.getLogger("junior_ai.http")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
HEALTH_STORE_TIMEOUT_S = 2.0  # a health check answers promptly even when the store hangs


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or "localhost") is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_every_address(host: str) -> bool:
    """Whether `host` is 0.0.0.0 or ::, which listens on every address of the machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def exposure_problem(host: str, settings: Settings) -> str | None:
    """Why serving on `host` must not start, or None: beyond loopback, callers must show a token (a configured
    one, or one the configured identity provider issued)."""
    if is_loopback(host) or settings.http.tokens or settings.http.oauth is not None:
        return None
    return (
        f"refusing to serve on {host}, which other machines can reach, without bearer tokens. Make one with "
        f"`python3 run.py serve --new-token NAME` and put its hash in credentials.json "
        f'("http": {{"tokens": {{"NAME": "<sha256>"}}}}) or {TOKENS_ENV}="NAME:<sha256>"; '
        f'or accept an identity provider\'s tokens ("http": {{"oauth": {{...}}}}, see the README); '
        f"or serve on 127.0.0.1."
    )


def transport_security(host: str, port: int, settings: Settings) -> TransportSecuritySettings:
    """The Host and Origin headers accepted: the bound address, its localhost forms (when it is loopback, or
    every address, which loopback is one of: a health check on the machine itself), and the configured."""
    names = [host, f"[{host}]" if ":" in host else host]
    if is_loopback(host) or _is_every_address(host):
        names += ["127.0.0.1", "localhost", "[::1]"]
    hosts = list(dict.fromkeys([f"{name}:{port}" for name in names] + list(settings.http.allowed_hosts)))
    origins = [f"http://{value}" for value in hosts if "://" not in value]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=list(dict.fromkeys(origins + list(settings.http.allowed_origins))),
    )


def http_app(
    server: MCPServer[Junior],
    settings: Settings,
    host: str,
    port: int,
    running: Callable[[], Junior | None],
    worker: WorkerSpec | None = None,
) -> Starlette:
    """The ASGI application: MCP at `/mcp` (behind the bearer check when tokens or OAuth are configured),
    `/healthz` and `/metrics` (unless turned off), all behind the Host and Origin check. `running` gives the
    application while the server is up (None before and after); each app has a metrics registry of its own.
    As one of `--workers` (`worker`), `/metrics` shows every worker's series (`app.state.worker_metrics`)."""
    security = transport_security(host, port, settings)
    checked = TransportSecurityMiddleware(security)

    async def healthz(request: Request) -> Response:
        refused = await checked.validate_request(request)
        return refused or JSONResponse(
            {"status": "ok", "ais": settings.usable_ais, "store": await _store_state(running())}
        )

    routes = [Route(HEALTH_PATH, healthz, methods=["GET"])]
    registry = metrics_registry(running)
    shared = WorkerMetrics(registry, worker.metrics_dir, worker.index) if worker is not None else None
    if settings.http.metrics:
        scrape = metrics_endpoint(registry if shared is None else _registry_of(shared))

        async def metrics(request: Request) -> Response:
            return await checked.validate_request(request) or await scrape(request)

        routes.append(Route(METRICS_PATH, metrics, methods=["GET"]))
    callers = who_may_call(settings.http, host, port)  # serve/http/auth.py
    routes += dashboard_routes(settings.http, callers, checked, running)  # behind the same checks as /mcp
    # The lowlevel server is private in the SDK; MCPServer.streamable_http_app reaches it the same way, but
    # takes the verifier only from the constructor, and the stdio path needs none.
    app = server._lowlevel_server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        max_request_body_size=settings.http.max_body_bytes,
        transport_security=security,
        host=host,
        auth=callers.auth if callers else None,
        token_verifier=callers.verifier if callers else None,
        custom_starlette_routes=routes,
    )
    app = callers.finish(app) if callers else app
    app.user_middleware.insert(0, Middleware(_NoStandaloneStream, path=MCP_PATH))
    app = with_rate_limits(app, settings.http, running, MCP_PATH)  # per caller, after auth (serve/http/rate_limit.py)
    app.user_middleware.append(Middleware(BodyReader, path=MCP_PATH, max_bytes=settings.http.max_body_bytes))
    registry.register(RateCollector(app.state.rate_limiter))
    app.state.worker_metrics = shared
    return app


def _registry_of(collector: WorkerMetrics) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


class _NoStandaloneStream:
    """ASGI middleware: a GET to the MCP path is 405, the spec's answer when the server offers no stream of its
    own. A stateless server never sends anything on one: an open one would only hold a connection, and the
    shutdown, until the drain ran out."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == self.path:
            refusal = Response("this stateless server opens no stream for GET; POST requests", 405, {"Allow": "POST"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _store_state(app: Junior | None) -> str:
    if app is None:
        return "not started"
    with anyio.move_on_after(HEALTH_STORE_TIMEOUT_S):
        try:
            store = await app.store()
            await store.schema_version()
        except StoreUnavailable as error:
            return str(error)
        return "ok"
    return f"no answer within {HEALTH_STORE_TIMEOUT_S:g} s"


async def serve_http(
    server: MCPServer[Junior],
    settings: Settings,
    host: str,
    port: int,
    running: Callable[[], Junior | None],
    worker: WorkerSpec | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain: stop accepting connections at once, let the calls in
    flight finish for up to `http.drain_seconds` (then cut them, each answered with a JSON-RPC error), close
    the application and return, so the process exits 0. A second signal stops waiting for the calls in
    flight. As one of `--workers` (`worker`): on the parent's socket, stopped as the parent says
    (serve/http/workers.py), publishing its metrics for the other workers."""
    drain = Drain(settings.http.drain_seconds)
    server.middleware.append(drain.middleware)  # innermost: a cut call's error still passes the others
    starlette = http_app(server, settings, host, port, running, worker)
    app: ASGIApp = starlette
    if settings.http.access_log:
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)  # shown whatever the server's log level
        app = AccessLog(app)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # uvicorn's records go to our stderr handler, through its redacting filter
        access_log=False,  # ours instead (serve/http/access_log.py): no query string, with the time and the caller
        server_header=False,
        http=guarded_protocol(settings.http),  # h11, with a connection limit and a header timeout
        backlog=accept_backlog(settings.http),
        # The drain cuts the calls still running at drain_seconds; uvicorn closes what is left a little later.
        timeout_graceful_shutdown=settings.http.drain_seconds + CUT_GRACE_S,
    )
    served = _DrainingServer(config, drain)
    if worker is None:
        with hold_event_streams():
            await served.serve()
        return
    served.on_started = follow_parent(worker, served)
    shared: WorkerMetrics | None = starlette.state.worker_metrics
    async with anyio.create_task_group() as group:
        if shared is not None:
            group.start_soon(shared.publish_every, PUBLISH_EVERY_S)
        with hold_event_streams():
            await served.serve([worker.listener])
        group.cancel_scope.cancel()


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, with our drain: `drain` cuts the calls still running `drain.seconds` after the
    signal. A signal it has drained for is not raised again once it is done: uvicorn re-raises it so that
    the process dies of it (exit status -15); a drained server has done what SIGTERM asks, and exits 0. A
    second signal of either kind stops waiting for the calls in flight."""

    stopped_by: str = "a signal"

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain
        self.on_started: Callable[[], None] = lambda: None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler runs between any two bytecodes, perhaps inside a write to stderr: it only sets
        # flags (a log line from here can fail as a reentrant write, and the flag would never be set).
        if self.should_exit:
            self.force_exit = True
        else:
            self.stopped_by = signal.Signals(sig).name
            self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        logger.warning(
            "%s received: refusing new connections; calls in flight have %d s to finish",
            self.stopped_by,
            self.drain.seconds,
        )
        cut = asyncio.get_running_loop().call_later(self.drain.seconds, self.drain.cut)
        try:
            await super().shutdown(sockets)
        finally:
            cut.cancel()
        if self.force_exit:
            logger.warning("a second signal: stopped without waiting for the calls in flight")
