"""Junior AI Assistant: an MCP server that asks other AIs, one at a time or all at once.

    python server.py [--credentials PATH]      serve MCP over stdio
    junior-ai [--credentials PATH]             the same, as an installed console script

Wiring only: build the server, its lifespan (init + cleanup), register the tools, run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

from core.ai_clients import cleanup_async_ai_clients, initialize_all_clients_async
from core.config import Settings, load_settings
from core.errors import ConfigError
from tools import register_tools

__all__ = ["build_server", "main"]

SERVER_NAME = "junior-ai"
LOG_LEVEL_ENV = "JUNIOR_AI_LOG_LEVEL"
INSTRUCTIONS = (
    "Ask other AIs (Gemini, OpenAI, Grok, DeepSeek, OpenRouter, local OpenAI-compatible models) for a "
    "second opinion: ask_ai for one, ask_all_ais for several at once; server_status lists them."
)

logger = logging.getLogger("junior_ai")


def build_server(settings: Settings) -> MCPServer:
    """The MCP server for `settings`: the registry lives for as long as a connection does."""

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Settings]:
        await initialize_all_clients_async(settings)
        try:
            yield settings
        finally:
            await cleanup_async_ai_clients()

    level = os.environ.get(LOG_LEVEL_ENV, "WARNING").upper()
    server: MCPServer = MCPServer(
        SERVER_NAME,
        title="Junior AI Assistant",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=lifespan,
        log_level=level if level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} else "WARNING",  # type: ignore[arg-type]
    )
    register_tools(server, settings)
    return server


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="junior-ai", description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", metavar="PATH", help="credentials.json to use (default: see README)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve MCP over stdio until stdin closes. Returns the exit code."""
    args = _parse(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="junior-ai %(levelname)s: %(message)s")
    try:
        settings = load_settings(args.credentials)
    except ConfigError as error:
        print(f"junior-ai: {error}", file=sys.stderr)
        return 2
    server = build_server(settings)
    if sys.stdin.isatty():
        usable = ", ".join(settings.usable_ais) or "none yet (see README: credentials)"
        print(f"junior-ai: serving MCP on stdio; AIs: {usable}. Ctrl-D to stop.", file=sys.stderr)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
