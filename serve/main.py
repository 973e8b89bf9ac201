"""Junior AI Assistant: an MCP server that asks other AIs, one at a time or all at once.

    junior-ai [--credentials PATH]             serve MCP over stdio (`python server.py` in a checkout)
    junior-ai --http [--host H] [--port P]   serve MCP over Streamable HTTP at /mcp (serve/http/app.py)
              [--workers N]             in N processes on that port (default: one per core; serve/http/workers.py)
    junior-ai --new-token NAME          make a bearer token for NAME; print it and its config line
    junior-ai --check                   show the configured AIs and ask each one once

The command line and the wiring: build the server, its lifespan (init + cleanup), register the tools, and
run it over stdio (serve/stdio.py, with signals and shutdown in serve/shutdown.py) or HTTP (serve/http/).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver import MCPServer, RequestStateSecurity

from ai.warmup import warm_up
from callers import Junior
from core.config.settings import Settings, describe_problems, settings_or_problems
from core.money.prices import load_price_list
from core.redact import RedactingFilter, Redactor
from core.store.url import STORE_MODULES
from serve.check import run_check
from serve.shutdown import exit_without_waiting_for_abandoned_threads, serve_until_stopped
from tools import register_tools
from tools.middleware import compact_tool_list, redact_results
from tools.panels import panels_extension
from tools.tasks import Tasks

if TYPE_CHECKING:
    from serve.http.workers import WorkerSpec

__all__ = ["build_server", "main"]

SERVER_NAME = "junior-ai"
LOG_LEVEL_ENV = "JUNIOR_AI_LOG_LEVEL"
LOG_FORMAT = "junior-ai %(levelname)s: %(message)s"
WORKER_LOG_FORMAT = "junior-ai[%(process)d] %(levelname)s: %(message)s"  # --workers: which process said it
INSTRUCTIONS = (
    "Ask other AIs (Gemini, OpenAI, Grok, DeepSeek, OpenRouter, local OpenAI-compatible models) for a "
    "second opinion: ask_ai for one, ask_all_ais for several at once; server_status lists them.\n"
    "files: paths relative to the project (your first root), or absolute inside it; the tools read them.\n"
    "A call still running after handoff_s (45 s by default) returns what is in so far and a job_id; the work "
    "goes on. jobs(job_id) waits for it and gives the whole result; jobs() lists your jobs; "
    'jobs(job_id, action="cancel") stops one.\n'
    "Slash commands (prompts): second_opinion, council, debate, review_changes."
)

CLEANUP_TIMEOUT_S = 1.5  # closing the application: its bookkeeping (0.5 s at most), the clients, the store ...

logger = logging.getLogger("junior_ai")


def build_server(
    settings: Settings,
    *,
    build_app: Callable[[Settings], Junior] = Junior.build,
    live: list[Junior] | None = None,
) -> MCPServer[Junior]:
    """The MCP server for `settings`: its application (clients, guards), made by `build_app` (a test
    passes its own, with its own clock), lives as long as a connection does (over HTTP: as the server
    does), and tools reach it through the lifespan context. `live` holds it while it lives (for static
    resources, and HTTP's health check)."""

    live = [] if live is None else live

    @asynccontextmanager
    async def lifespan(_: MCPServer[Junior]) -> AsyncIterator[Junior]:
        app = build_app(settings)
        # The SDKs and the store's modules get ready in the background: the first call finds them so.
        warm_up(app.pool.async_clients.values(), STORE_MODULES, [load_price_list])
        live.append(app)
        try:
            yield app
        finally:
            live.remove(app)
            # Shutdown runs inside a cancelled scope (a signal, or stdin closing): close the clients anyway.
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_TIMEOUT_S):
                await app.aclose()

    server: MCPServer[Junior] = MCPServer(
        SERVER_NAME,
        title="Junior AI Assistant",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=lifespan,
        log_level=_log_level(),  # type: ignore[arg-type]
        middleware=[redact_results, compact_tool_list],
        request_state_security=_request_state_security(settings),
        # Long calls as tasks, for clients that declare the Tasks extension; results in panels, for MCP Apps hosts.
        extensions=[Tasks(), panels_extension()],
    )
    register_tools(server, settings, running=lambda: live[-1])
    return server


def _request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """How the state of a 2026-07-28 call's rounds is sealed: with the configured `request_state_key`, which
    every replica behind one balancer shares; None (the SDK's key of this process's own) without one."""
    key = settings.request_state_key
    return RequestStateSecurity(keys=[key.get_secret_value()]) if key is not None else None


def _log_level() -> str:
    level = os.environ.get(LOG_LEVEL_ENV, "WARNING").upper()
    return level if level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} else "WARNING"


class _SkippedLines(logging.Filter):
    """The MCP SDK skips a stdin line that is not JSON-RPC and says so only at DEBUG: say it as a warning,
    shortly (the line may be megabytes long), and let the SDK's other debug records through only when
    debugging."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "transport yielded exception: %r" and record.args:
            first = str(record.args[0] if isinstance(record.args, tuple) else record.args).splitlines()
            reason = " ".join(line.strip() for line in first[:3])[:300]
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "skipped a line on stdin that is not a JSON-RPC message: %s", (reason,)
        return record.levelno >= self.level


def _report_skipped_lines(level: int) -> None:
    dispatcher = logging.getLogger("mcp.shared.jsonrpc_dispatcher")
    dispatcher.setLevel(logging.DEBUG)
    dispatcher.addFilter(_SkippedLines(level))


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="junior-ai", description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", metavar="PATH", help="credentials.json to use (default: see README)")
    parser.add_argument(
        "--check", action="store_true", help="print the configured AIs, ask each once; exit 0 only if all answered"
    )
    parser.add_argument("--http", action="store_true", help="serve MCP over Streamable HTTP at /mcp, not stdio")
    parser.add_argument("--host", default=None, help="the address --http listens on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="the port --http listens on (default: 8765)")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="--http in N processes sharing the port and the store (default: the number of cores)",
    )
    parser.add_argument(
        "--new-token", metavar="NAME", help="print a new bearer token for NAME once, and the line to configure"
    )
    args = parser.parse_args(argv)
    if args.workers is not None and not args.http:
        parser.error("--workers applies to --http only (stdio is one process per client)")
    return args


def _workers(text: str) -> int:
    from serve.http.workers import parse_workers

    try:
        return parse_workers(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Serve MCP over stdio until stdin closes. Returns the exit code."""
    args = _parse(argv)
    if args.new_token is not None:
        return _new_token(args.new_token)
    if args.http and args.workers is None:
        from serve.http.workers import default_workers

        args.workers = default_workers()
    redactor = _log_to_stderr(LOG_FORMAT if not args.http or args.workers == 1 else WORKER_LOG_FORMAT)
    settings = settings_or_problems(args.credentials)
    redactor.remember(settings.secrets)
    if args.check:
        return anyio.run(run_check, settings, sys.stdout)
    if args.http:
        return _serve_http(settings, args.host, args.port, args.workers)
    if settings.problems and sys.stdin.isatty():  # a person at a terminal: say it and stop
        print(f"junior-ai: {describe_problems(settings)}", file=sys.stderr)
        return 2
    if settings.problems:
        # An MCP client shows only "Connection closed" for a server that exits: start, and let every tool
        # answer say what is wrong.
        logger.warning("%s", describe_problems(settings))
    server = build_server(settings)
    if sys.stdin.isatty():
        usable = ", ".join(settings.usable_ais) or "none yet (see README: credentials)"
        print(f"junior-ai: serving MCP on stdio; AIs: {usable}. Ctrl-D to stop.", file=sys.stderr)
    anyio.run(serve_until_stopped, server)
    exit_without_waiting_for_abandoned_threads()
    return 0


def _log_to_stderr(line_format: str) -> Redactor:
    """Log to stderr, through a redacting filter; returns the redactor, to be told the configuration's keys."""
    logging.basicConfig(stream=sys.stderr, level=_log_level(), format=line_format)
    redactor = Redactor()  # the process's log lines: the configuration's keys, once it is read
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(redactor))
    _report_skipped_lines(logging.getLogger().level)
    return redactor


def _new_token(name: str) -> int:
    from pydantic import ValidationError

    from core.config.http import HttpSettings, new_token, paste_lines

    token = new_token()
    try:
        HttpSettings(tokens={name: "0" * 64})
    except ValidationError as error:
        print(f"junior-ai: --new-token: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    print(f"Bearer token for {name} (shown once; give it to {name}, keep only its hash):\n{token}")
    print("Configure its hash (add it to any tokens already there):")
    for line in paste_lines(name, token):
        print(f"  {line}")
    return 0


def _serve_http(settings: Settings, host: str | None, port: int | None, workers: int = 1) -> int:
    """Serve MCP over Streamable HTTP (imported here: uvicorn and Starlette stay off the stdio path), in this
    process or, with `workers` over 1, in that many (serve/http/workers.py)."""
    from serve.http.app import DEFAULT_HOST, DEFAULT_PORT, MCP_PATH, exposure_problem, serve_http
    from serve.http.workers import run_workers

    host, port = host or DEFAULT_HOST, DEFAULT_PORT if port is None else port
    # Started by a person or a service manager, not an MCP client: a bad configuration stops it, saying why.
    if settings.problems:
        print(f"junior-ai: {describe_problems(settings)}", file=sys.stderr)
        return 2
    refusal = exposure_problem(host, settings)
    if refusal:
        print(f"junior-ai: {refusal}", file=sys.stderr)
        return 2
    usable = ", ".join(settings.usable_ais) or "none yet (see README: credentials)"
    oauth = [f"holders of {settings.http.oauth.issuer}'s tokens"] if settings.http.oauth is not None else []
    callers = ", ".join([*settings.http.tokens, *oauth]) or "anyone (no tokens configured; loopback only)"
    shown = f"[{host}]" if ":" in host else host
    processes = f" in {workers} worker processes" if workers > 1 else ""
    print(
        f"junior-ai: serving MCP on http://{shown}:{port}{MCP_PATH}{processes}; AIs: {usable}; callers: {callers}.",
        file=sys.stderr,
    )
    if workers > 1:
        return run_workers(settings, host, port, workers, _serve_worker)
    live: list[Junior] = []
    server = build_server(settings, live=live)
    anyio.run(serve_http, server, settings, host, port, lambda: live[-1] if live else None)
    exit_without_waiting_for_abandoned_threads()
    return 0


def _serve_worker(settings: Settings, host: str, port: int, worker: WorkerSpec) -> None:
    """One of `--workers`, in a process of its own: the single process's server, on the parent's socket."""
    from serve.http.app import serve_http

    _log_to_stderr(WORKER_LOG_FORMAT).remember(settings.secrets)
    live: list[Junior] = []
    server = build_server(settings, live=live)
    anyio.run(partial(serve_http, worker=worker), server, settings, host, port, lambda: live[-1] if live else None)
    exit_without_waiting_for_abandoned_threads()
