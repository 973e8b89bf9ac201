"""The MCP surface: one module per family of tools; thin: validate, call, format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools import ask, collab, completions, jobs, legacy, prompts, status, threads

if TYPE_CHECKING:
    from collections.abc import Callable

    from mcp.server.mcpserver import MCPServer

    from callers import Junior
    from core.config.settings import Settings

__all__ = ["register_tools"]


def register_tools(server: MCPServer, settings: Settings, running: Callable[[], Junior]) -> None:
    """Register the tools of the settings' profile, `compact` (eight tools) or `full` (plus per-AI tools),
    the threads resources, and the prompts (slash commands) with their completions; `running()` is the live
    connection's application."""
    ask.register(server, settings)
    collab.register(server, settings)
    status.register(server, settings)
    threads.register(server, running)
    prompts.register(server)
    completions.register(server, running)
    jobs.register(server)
    if settings.tool_profile == "full":
        legacy.register(server, settings)
