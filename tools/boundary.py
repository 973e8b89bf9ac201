"""The tool boundary, applied once to every tool when it is registered (`add_tool`): errors become tool
errors here and nowhere else, and every answer is rendered here (tools/answer.py).

    async def ask_ai(ai: str, prompt: str, ctx: AppContext) -> Answer:
        completion = await ask(app_of(ctx), ai, Request(prompt))
        return Answer(completion.text, ...)

    add_tool(server, ask_ai, title="Ask one AI", description="...")

Key redaction and cleaning happen once more, below the tools, for every response: tools.middleware.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations

from core.config.settings import describe_problems
from core.errors import JuniorAIError
from tools.answer import Answer
from tools.context import AppContext, app_of
from tools.roots import RESOLVED_ROOTS, ROOTS_PARAMETER, offered_roots

__all__ = ["REACHES_OUT", "ToolBody", "add_tool"]

logger = logging.getLogger("junior_ai.tools")

# These tools read and change nothing local, but talk to the outside world.
REACHES_OUT = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)

ToolBody = Callable[..., Awaitable[Answer]]
BOUNDARY_CTX = "boundary_ctx"  # the context parameter the boundary adds when a body has none


def add_tool(
    server: MCPServer[Any],
    body: ToolBody,
    *,
    name: str | None = None,
    title: str,
    description: str,
    annotations: ToolAnnotations = REACHES_OUT,
    reports_problems: bool = False,
    parameter_types: Mapping[str, Any] | None = None,
) -> None:
    """Register `body` as a tool behind the boundary: its parameters are the tool's schema, its `Answer`
    is rendered, our typed errors become tool errors the model can read, and anything else (a bug, a
    failure while rendering) is logged and reported without internals.

    When the configuration has problems, every answer says what they are and how to check the fix (a
    tool that can do nothing answers with just that), unless the tool `reports_problems` itself.
    `parameter_types` replaces some parameters' annotated types (a description known at registration)."""
    tool = name or body.__name__
    hints = {**typing.get_type_hints(body, include_extras=True), **(parameter_types or {})}
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in inspect.signature(body).parameters.values()
    ]
    # The boundary needs the request's context (the application's configuration problems); the body
    # gets it too when it asks for one.
    context = next((p.name for p in parameters if p.annotation is AppContext), None)
    if context is None:
        parameters.append(inspect.Parameter(BOUNDARY_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=AppContext))
    # A tool that reads files gets the client's roots from the SDK's resolver (tools/roots.py).
    if any(p.name == "files" for p in parameters):
        parameters.append(inspect.Parameter(ROOTS_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=RESOLVED_ROOTS))

    async def bounded(**arguments: Any) -> CallToolResult:
        ctx: AppContext = arguments[context] if context else arguments.pop(BOUNDARY_CTX)
        roots = arguments.pop(ROOTS_PARAMETER, None)
        problems = "" if reports_problems else describe_problems(app_of(ctx).settings)
        try:
            if problems and not app_of(ctx).settings.usable_ais:
                raise ToolError(problems)  # nothing can work: what is wrong is the answer
            with offered_roots(roots):
                answer = await body(**arguments)
            if problems:  # some AIs work: the answer, and what keeps the others out
                answer = dataclasses.replace(answer, text=f"{answer.text}\n\n{problems}")
            return answer.render()
        except ToolError:
            raise
        except JuniorAIError as error:
            raise ToolError(f"{error}\n\n{problems}" if problems else str(error)) from error
        except Exception as error:  # the tool boundary: log the bug, tell the client without internals
            logger.exception("%s: unexpected error", tool)
            raise ToolError(
                f"{tool} failed with an internal error ({type(error).__name__}); see the server log"
            ) from error

    # The SDK reads the tool's schema from the signature: the body's parameters, returning a ready result.
    bounded.__signature__ = inspect.Signature(parameters, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    bounded.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": CallToolResult}
    bounded.__name__ = bounded.__qualname__ = tool
    bounded.__doc__ = body.__doc__
    server.add_tool(bounded, name=tool, title=title, description=description, annotations=annotations)
