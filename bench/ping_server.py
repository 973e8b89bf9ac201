"""Our server plus one trivial tool, so that the MCP overhead of ask_ai can be measured on one server."""

import sys

import anyio

from core.config.settings import load_settings
from serve.main import build_server
from serve.shutdown import serve_until_stopped


def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    server = build_server(load_settings(sys.argv[1]))
    server.add_tool(ping)
    anyio.run(serve_until_stopped, server)
