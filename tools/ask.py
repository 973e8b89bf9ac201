"""ask_ai and ask_all_ais: one AI, or several at once."""

import time
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from ai.caller import AIResult, call_multiple_ais, complete_async
from core.config import DEFAULT_TEMPERATURE, Settings
from tools.boundary import REACHES_OUT, tool_errors, with_context

__all__ = ["AskAllResult", "register"]

MAX_TOKENS_LIMIT = 200_000

Prompt = Annotated[str, Field(min_length=1, description="The question or task.")]
Context = Annotated[str | None, Field(description="Code or text the AI should look at.")]
Temperature = Annotated[
    float | None, Field(ge=0, le=2, description=f"Sampling temperature, 0-2 (default {DEFAULT_TEMPERATURE}).")
]
MaxTokens = Annotated[int | None, Field(ge=1, le=MAX_TOKENS_LIMIT, description="Cap on the answer's length.")]


class AskAllResult(BaseModel):
    results: list[AIResult]
    succeeded: int
    failed: int


def _label(result: AIResult) -> str:
    if result.ok:
        return f"## {result.ai} ({result.model}, {result.latency_s:.1f} s)\n{result.text}"
    return (
        f"## {result.ai} ({result.model}) failed: {result.error_kind}, after {result.latency_s:.1f} s\n{result.error}"
    )


def register(server: MCPServer, settings: Settings) -> None:
    """Register ask_ai and ask_all_ais on `server`."""
    configured = ", ".join(settings.usable_ais) or "none configured yet"

    async def ask_ai(
        ai: Annotated[str, Field(min_length=1, description=f"Which AI: {configured}.")],
        prompt: Prompt,
        context: Context = None,
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
    ) -> Annotated[CallToolResult, AIResult]:
        started = time.perf_counter()
        with tool_errors("ask_ai"):
            name = ai.strip().lower()
            completion = await complete_async(
                name,
                with_context(prompt, context),
                temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                max_tokens=max_tokens,
            )
        return CallToolResult(
            content=[TextContent(type="text", text=completion.text)],
            structured_content=AIResult.answered(name, completion, started).model_dump(),
        )

    async def ask_all_ais(
        prompt: Prompt,
        ais: Annotated[
            list[str] | None, Field(description=f"Which AIs (default: all of {configured}).", min_length=1)
        ] = None,
        context: Context = None,
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
    ) -> Annotated[CallToolResult, AskAllResult]:
        with tool_errors("ask_all_ais"):
            results = await call_multiple_ais(
                with_context(prompt, context),
                ais,
                temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                max_tokens=max_tokens,
            )
        succeeded = sum(result.ok for result in results)
        summary = AskAllResult(results=results, succeeded=succeeded, failed=len(results) - succeeded)
        text = "\n\n".join(_label(result) for result in results)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=summary.model_dump(),
            is_error=succeeded == 0,
        )

    server.add_tool(
        ask_ai, title="Ask one AI", description="Ask one AI a question and get its answer.", annotations=REACHES_OUT
    )
    server.add_tool(
        ask_all_ais,
        title="Ask all AIs",
        description="Ask several AIs the same question at once; returns every answer, and names any failure.",
        annotations=REACHES_OUT,
    )
