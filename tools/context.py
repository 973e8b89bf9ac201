"""What a tool body reaches through its request context: the application the lifespan built, and who
is asking.

    async def ask_ai(prompt: str, ctx: AppContext) -> Answer:
        app = app_of(ctx)
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context

from callers import Junior

__all__ = ["AppContext", "app_of", "caller"]

# What a tool's `ctx` parameter is: the request's context, whose lifespan context is the application.
AppContext = Context[Junior, Any]


def caller() -> str | None:
    """Who is asking: over HTTP, the name of the token that authenticated the request (the SDK's auth
    context); None over stdio, where one person owns the process and everything in its store."""
    token = get_access_token()
    return token.client_id if token is not None else None


def app_of(ctx: AppContext) -> Junior:
    """The application the server's lifespan built."""
    return ctx.request_context.lifespan_context
