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
from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult, ToolAnnotations

from core.config.settings import describe_problems
from core.errors import JuniorAIError
from tools.answer import Answer
from tools.confirm import GoAhead, Spends, refusal, resolver_for
from tools.context import AppContext, app_of
from tools.handoff import BACKGROUND_PARAMETER, handing_off
from tools.panels import PanelName, tool_meta
from tools.params import MaxCostUSD
from tools.roots import RESOLVED_ROOTS, ROOTS_PARAMETER, offered_roots

__all__ = ["REACHES_OUT", "ToolBody", "add_tool"]

logger = logging.getLogger("junior_ai.tools")

# These tools read and change nothing local, but talk to the outside world.
REACHES_OUT = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)

ToolBody = Callable[..., Awaitable[Answer]]
BOUNDARY_CTX = "boundary_ctx"  # the context parameter the boundary adds when a body has none
MAX_COST = "max_cost_usd"  # an AI-asking tool's parameter, read by its spend question (tools/confirm.py)
APPROVAL = "spend_approval"  # the spend question's outcome, filled by the SDK's resolver before the body runs


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
    spends: Spends | None = None,
    hands_off: bool | None = None,
    panel: PanelName | None = None,
) -> None:
    """Register `body` as a tool behind the boundary: its parameters are the tool's schema, its `Answer`
    is rendered, our typed errors become tool errors the model can read, and anything else (a bug, a
    failure while rendering) is logged and reported without internals.

    When the configuration has problems, every answer says what they are and how to check the fix (a
    tool that can do nothing answers with just that), unless the tool `reports_problems` itself.
    `parameter_types` replaces some parameters' annotated types (a description known at registration).

    A tool that `spends` (asks AIs) takes `max_cost_usd`, and its spend is put to the user first when it may
    cost more than `confirm_over_usd` (tools/confirm.py).

    A tool that `hands_off` (by default, those that reach out: every AI-asking tool) returns at `handoff_s`
    with what is in and a job_id, and takes `background` (tools/handoff.py).

    A tool with a `panel` names it in its `_meta` (tools/panels): an MCP Apps host shows the result in it."""
    tool = name or body.__name__
    parameters, context = _parameters(tool, body, parameter_types, spends)
    bounded = _bounded(tool, body, context, reports_problems=reports_problems, spends=spends)
    served: Callable[..., Awaitable[CallToolResult]] = bounded
    if (annotations is REACHES_OUT) if hands_off is None else hands_off:
        served = handing_off(tool, bounded, context or BOUNDARY_CTX)
        parameters.append(BACKGROUND_PARAMETER)
    # The SDK reads the tool's schema from the signature: the body's parameters, returning a ready result.
    signature = inspect.Signature(parameters, return_annotation=CallToolResult)
    served.__signature__ = signature  # type: ignore[attr-defined]
    served.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": CallToolResult}
    served.__name__ = served.__qualname__ = tool
    served.__doc__ = body.__doc__
    meta = tool_meta(panel) if panel is not None else None
    server.add_tool(served, name=tool, title=title, description=description, annotations=annotations, meta=meta)


def _parameters(
    tool: str, body: ToolBody, parameter_types: Mapping[str, Any] | None, spends: Spends | None
) -> tuple[list[inspect.Parameter], str | None]:
    """The tool's parameters: the body's (with `parameter_types` applied), and those the boundary adds: the
    request's context when the body takes none (named BOUNDARY_CTX), the client's roots for a tool that
    reads files, `max_cost_usd` and the user's approval for one that spends. Also the name of the body's
    own context parameter, if it has one."""
    hints = {**typing.get_type_hints(body, include_extras=True), **(parameter_types or {})}
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in inspect.signature(body).parameters.values()
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    # The boundary needs the request's context (the application's configuration problems); the body
    # gets it too when it asks for one.
    context = next((p.name for p in parameters if p.annotation is AppContext), None)
    if context is None:
        parameters.append(inspect.Parameter(BOUNDARY_CTX, keyword, annotation=AppContext))
    # A tool that reads files gets the client's roots from the SDK's resolver (tools/roots.py).
    if any(p.name == "files" for p in parameters):
        parameters.append(inspect.Parameter(ROOTS_PARAMETER, keyword, annotation=RESOLVED_ROOTS))
    if spends is not None:
        asked = [p.name for p in parameters if p.annotation is not AppContext and p.name != ROOTS_PARAMETER]
        approval = Annotated[ElicitationResult[GoAhead], Resolve(resolver_for(tool, [*asked, MAX_COST], spends))]
        parameters.append(inspect.Parameter(MAX_COST, keyword, default=None, annotation=MaxCostUSD))
        parameters.append(inspect.Parameter(APPROVAL, keyword, annotation=approval))
    return parameters, context


def _bounded(
    tool: str, body: ToolBody, context: str | None, *, reports_problems: bool, spends: Spends | None
) -> Callable[..., Awaitable[CallToolResult]]:
    """`body` behind the boundary: the boundary's own arguments taken off, the spend approved, the answer
    rendered, errors made tool errors."""

    async def bounded(**arguments: Any) -> CallToolResult:
        ctx: AppContext = arguments[context] if context else arguments.pop(BOUNDARY_CTX)
        roots = arguments.pop(ROOTS_PARAMETER, None)
        problems = "" if reports_problems else describe_problems(app_of(ctx).settings)
        if spends is not None:
            del arguments[MAX_COST]
            if (refused := refusal(arguments.pop(APPROVAL))) is not None:
                return refused  # nothing was sent: the user declined, or was not asked
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

    return bounded
