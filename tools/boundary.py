"""The tool boundary, applied once to every tool when it is registered (`add_tool`): errors become tool
errors here and nowhere else, and every answer is rendered here. Also what every tool shares: the
application from the lifespan context, progress, the size check, markdown sections.

    async def ask_ai(ai: str, prompt: str, ctx: AppContext) -> Answer:
        completion = await complete(app_of(ctx), ai, Request(prompt))
        return Answer(completion.text, ...)

    add_tool(server, ask_ai, title="Ask one AI", description="...")

Key redaction and cleaning happen once more, below the tools, for every response: `redact_results`.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ListToolsResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from callers import AIResult, Junior
from core.config.settings import describe_problems
from core.errors import InvalidRequest, JuniorAIError
from core.redact import Redactor
from tools.handoff import BACKGROUND_PARAMETER, handing_off
from tools.spending import footer, results_in, total_cost, total_line

__all__ = [
    "REACHES_OUT",
    "TRAILER",
    "Answer",
    "AppContext",
    "Progress",
    "add_tool",
    "app_of",
    "caller",
    "check_size",
    "compact_schema",
    "compact_tool_list",
    "redact_results",
    "section",
    "with_context",
]

logger = logging.getLogger("junior_ai.tools")

# These tools read and change nothing local, but talk to the outside world.
REACHES_OUT = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)

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


@dataclass(frozen=True)
class Answer:
    """What a tool body returns: readable text for the model, structured content for programs, whether
    the tool failed as a whole (every AI failed), notes the user should read (files cut, history left
    out), and the thread the call was recorded in."""

    text: str
    structured: BaseModel
    failed: bool = False
    notes: tuple[str, ...] = ()
    continuation_id: str | None = None

    def render(self) -> CallToolResult:
        """The MCP result. Tools declare no output schema: schemas are paid for in the client's context
        on every turn, and the structured shapes are documented in the README instead.

        The text ends with a trailer after a `---` line: the cost (one AI's footer, or the call's total),
        the notes, the continuation_id; the structured content gets `total_cost_usd`, `notes` and
        `continuation_id`."""
        structured = self.structured.model_dump()
        results = results_in(self.structured)
        trailer = []
        if isinstance(self.structured, AIResult):
            trailer.append(footer(self.structured) if self.structured.ok else "")
        elif any(result.ok for result in results):
            trailer.append(total_line(results))
        if results:
            structured["total_cost_usd"] = total_cost(results)
        if self.notes:
            trailer.append("Notes:\n" + "\n".join(f"- {note}" for note in self.notes))
            structured["notes"] = [*structured.get("notes", []), *self.notes]
        if self.continuation_id is not None:
            trailer.append(f"continuation_id: {self.continuation_id} (pass it to continue this conversation)")
            structured["continuation_id"] = self.continuation_id
        text = self.text
        if shown := [line for line in trailer if line]:
            text += TRAILER + "\n".join(shown)
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=structured, is_error=self.failed
        )


# Between an answer and what the server says about it (cost, notes, the thread): a markdown rule.
TRAILER = "\n\n---\n"
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
    hands_off: bool | None = None,
) -> None:
    """Register `body` as a tool behind the boundary: its parameters are the tool's schema, its `Answer`
    is rendered, our typed errors become tool errors the model can read, and anything else (a bug, a
    failure while rendering) is logged and reported without internals.

    When the configuration has problems, every answer says what they are and how to check the fix (a
    tool that can do nothing answers with just that), unless the tool `reports_problems` itself.

    A tool that `hands_off` (by default, those that reach out: every AI-asking tool) returns at `handoff_s`
    with what is in and a job_id, and takes `background` (tools/handoff.py)."""
    tool = name or body.__name__
    hints = typing.get_type_hints(body, include_extras=True)
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in inspect.signature(body).parameters.values()
    ]
    # The boundary needs the request's context (the application's configuration problems); the body
    # gets it too when it asks for one.
    context = next((p.name for p in parameters if p.annotation is AppContext), None)
    if context is None:
        parameters.append(inspect.Parameter(BOUNDARY_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=AppContext))

    async def bounded(**arguments: Any) -> CallToolResult:
        ctx: AppContext = arguments[context] if context else arguments.pop(BOUNDARY_CTX)
        problems = "" if reports_problems else describe_problems(app_of(ctx).settings)
        try:
            if problems and not app_of(ctx).settings.usable_ais:
                raise ToolError(problems)  # nothing can work: what is wrong is the answer
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

    served: Callable[..., Awaitable[CallToolResult]] = bounded
    if (annotations is REACHES_OUT) if hands_off is None else hands_off:
        served = handing_off(tool, bounded, context or BOUNDARY_CTX)
        parameters.append(BACKGROUND_PARAMETER)
    # The SDK reads the tool's schema from the signature: the body's parameters, returning a ready result.
    served.__signature__ = inspect.Signature(parameters, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    served.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": CallToolResult}
    served.__name__ = served.__qualname__ = tool
    served.__doc__ = body.__doc__
    server.add_tool(served, name=tool, title=title, description=description, annotations=annotations)


class Progress:
    """Progress notifications to the client (a no-op unless it asked for them); never fails the tool.

    Each step (`__call__`) moves the progress to the next whole number; a note between steps (`note`:
    tokens streamed so far) moves it part of the way to the next step, never all of it (MCP wants every
    notification's progress above the last one's)."""

    def __init__(self, ctx: AppContext, total: int | None = None) -> None:
        self._ctx = ctx
        self.total = total
        self.done = 0
        self._notes = 0  # notes since the last step

    async def __call__(self, message: str) -> None:
        self.done += 1
        self._notes = 0
        await self._send(self.done, message)

    async def note(self, message: str) -> None:
        """A message between two steps: progress goes from `done` towards `done + 1` (½, ⅔, ¾, ...)."""
        self._notes += 1
        await self._send(self.done + self._notes / (self._notes + 1), message)

    async def _send(self, progress: float, message: str) -> None:
        try:
            await self._ctx.report_progress(progress, self.total, app_of(self._ctx).redactor.clean(message))
        except Exception:  # progress is a courtesy: a client that went away must not fail the answer
            logger.exception("could not send a progress notification")

    async def result(self, result: AIResult) -> None:
        await self(result.describe())


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema as clients are sent it: no generated titles ("Max Tokens" beside
    "max_tokens"), and an optional parameter shown as its type alone rather than "that type, or null,
    default null" (leaving it out is how a client says null). Every tool's schema is paid for in the
    client's context on every turn; the server still validates against the full one."""
    compact = {key: value for key, value in schema.items() if key != "title"}
    properties = compact.get("properties")
    if isinstance(properties, dict):
        compact["properties"] = {name: _compact_property(value) for name, value in properties.items()}
    return compact


def _compact_property(schema: dict[str, Any]) -> dict[str, Any]:
    compact = {key: value for key, value in schema.items() if key != "title"}
    variants = compact.get("anyOf")
    if compact.get("default", ...) is None and isinstance(variants, list) and {"type": "null"} in variants:
        kept = [variant for variant in variants if variant != {"type": "null"}]
        if len(kept) == 1 and isinstance(kept[0], dict):
            del compact["anyOf"], compact["default"]
            compact = {**kept[0], **compact}
    return compact


async def compact_tool_list(ctx: ServerRequestContext[Junior, Any], call_next: CallNext) -> HandlerResult:
    """MCP middleware: `tools/list` answers with compact input schemas (`compact_schema`)."""
    result = await call_next(ctx)
    if ctx.method != "tools/list":
        return result
    if isinstance(result, ListToolsResult):
        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        result["tools"] = [_compact_tool(tool) for tool in result["tools"]]
    return result


def _compact_tool(tool: Any) -> Any:
    if isinstance(tool, dict) and isinstance(tool.get("inputSchema"), dict):
        return {**tool, "inputSchema": compact_schema(tool["inputSchema"])}
    return tool


async def redact_results(ctx: ServerRequestContext[Junior, Any], call_next: CallNext) -> HandlerResult:
    """MCP middleware, the one place every result passes on its way out: no key leaves in it, whether
    a provider echoed it, an AI repeated it, or a validation message quoted it, and every text in it can
    be encoded (the stdio wire cleans anything else that cannot)."""
    result = await call_next(ctx)
    if isinstance(result, BaseModel):
        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    redactor: Redactor = ctx.lifespan_context.redactor
    return redactor.clean_data(result) if result is not None else None


def check_size(app: Junior, *texts: str | None) -> None:
    """Raises InvalidRequest when the texts together exceed the configured `max_prompt_chars`."""
    limit = app.settings.max_prompt_chars
    size = sum(len(text) for text in texts if text)
    if size > limit:
        raise InvalidRequest(
            f"the input is {size:,} characters; the limit is {limit:,} (max_prompt_chars): send less context"
        )


def with_context(app: Junior, prompt: str, context: str | None) -> str:
    """The prompt an AI sees: the question, then the code or text it is about.

    Raises:
        InvalidRequest: the two together are larger than `max_prompt_chars`.
    """
    check_size(app, prompt, context)
    if not context:
        return prompt
    return f"{prompt}\n\n--- context ---\n{context}"


def section(result: AIResult, heading: str = "##") -> str:
    """One AI's answer, or its failure, as a markdown section."""
    if result.ok:
        cut = ", partial" if result.partial else ""  # the text ends with a note saying where it was cut
        title = f"{heading} {result.ai} ({result.model}, {result.latency_s:.1f} s{cut})"
        return f"{title}\n{result.text}\n\n{footer(result)}"
    # A timeout's message states the limit that fired; a second number beside it would only confuse.
    after = "" if result.error_kind == "timeout" else f", after {result.latency_s:.1f} s"
    failure = f"failed: {result.error_kind}{after}"
    return f"{heading} {result.ai} ({result.model}) {failure}\n{result.error}"
