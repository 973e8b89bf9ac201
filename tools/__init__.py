"""The MCP surface: one module per family of tools; thin: validate, call, format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools import ask, collab, legacy, status

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from core.config import Settings

__all__ = ["register_tools"]


def register_tools(server: MCPServer, settings: Settings) -> None:
    """Register the tools of the settings' profile: `compact` (six tools) or `full` (plus per-AI tools)."""
    ask.register(server, settings)
    collab.register(server, settings)
    status.register(server, settings)
    if settings.tool_profile == "full":
        legacy.register(server, settings)
