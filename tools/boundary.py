"""Where errors become tool errors (the one place), and what every tool shares: progress, rendering."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from ai.caller import AIResult
from core import ai_clients
from core.defaults import MAX_PROMPT_CHARS
from core.errors import InvalidRequest, JuniorAIError
from core.redact import clean, clean_data

__all__ = [
    "REACHES_OUT",
    "Progress",
    "check_size",
    "redact_results",
    "render",
    "section",
    "tool_errors",
    "with_context",
]

logger = logging.getLogger("junior_ai.tools")

# These tools read and change nothing local, but talk to the outside world.
REACHES_OUT = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Turn our typed errors into tool errors the model can read; hide (and log) anything else."""
    try:
        yield
    except ToolError:
        raise
    except JuniorAIError as error:
        raise ToolError(str(error)) from error
    except Exception as error:  # the tool boundary: log the bug, tell the client without internals
        logger.exception("%s: unexpected error", tool)
        raise ToolError(f"{tool} failed with an internal error ({type(error).__name__}); see the server log") from error


class Progress:
    """Progress notifications to the client (a no-op unless it asked for them); never fails the tool."""

    def __init__(self, ctx: Context[Any, Any], total: int | None = None) -> None:
        self._ctx = ctx
        self.total = total
        self.done = 0

    async def __call__(self, message: str) -> None:
        self.done += 1
        try:
            await self._ctx.report_progress(self.done, self.total, clean(message))
        except Exception:  # progress is a courtesy: a client that went away must not fail the answer
            logger.exception("could not send a progress notification")

    async def result(self, result: AIResult) -> None:
        await self(result.describe())


async def redact_results(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """MCP middleware, the one place every result passes on its way out: no key leaves in it, whether
    a provider echoed it, an AI repeated it, or a validation message quoted it, and every text in it can
    be encoded (the stdio wire cleans anything else that cannot)."""
    result = await call_next(ctx)
    if isinstance(result, BaseModel):
        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return clean_data(result) if result is not None else None


def check_size(*texts: str | None) -> None:
    """Raises InvalidRequest when the texts together exceed the configured `max_prompt_chars`."""
    settings = ai_clients.current_settings()
    limit = settings.max_prompt_chars if settings else MAX_PROMPT_CHARS
    size = sum(len(text) for text in texts if text)
    if size > limit:
        raise InvalidRequest(
            f"the input is {size:,} characters; the limit is {limit:,} (max_prompt_chars): send less context"
        )


def with_context(prompt: str, context: str | None) -> str:
    """The prompt an AI sees: the question, then the code or text it is about.

    Raises:
        InvalidRequest: the two together are larger than `max_prompt_chars`.
    """
    check_size(prompt, context)
    if not context:
        return prompt
    return f"{prompt}\n\n--- context ---\n{context}"


def section(result: AIResult, heading: str = "##") -> str:
    """One AI's answer, or its failure, as a markdown section."""
    if result.ok:
        return f"{heading} {result.ai} ({result.model}, {result.latency_s:.1f} s)\n{result.text}"
    failure = f"failed: {result.error_kind}, after {result.latency_s:.1f} s"
    return f"{heading} {result.ai} ({result.model}) {failure}\n{result.error}"


def render(text: str, structured: BaseModel, *, failed: bool = False) -> CallToolResult:
    """A tool result: readable text for the model, structured content for programs.

    The tools declare no output schema: schemas are paid for in the client's context on every turn, and
    the structured shapes (the models in ai/ and tools/) are documented in the README instead.
    """
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured.model_dump(), is_error=failed
    )
