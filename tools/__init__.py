"""The MCP surface: one module per family of tools; thin: validate, call ai/, format."""

from mcp.server.mcpserver import MCPServer

from core.config import Settings
from tools import ask, status

__all__ = ["register_tools"]


def register_tools(server: MCPServer, settings: Settings) -> None:
    """Register every tool the settings ask for on `server`."""
    ask.register(server, settings)
    status.register(server, settings)
