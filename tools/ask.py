"""ask_ai and ask_all_ais: one AI, or several at once, in any mode."""

import time
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ai.caller import AIResult, call_multiple_ais, complete_async, select_ais
from core.config import Settings
from core.modes import MODES, ModeName
from tools.boundary import REACHES_OUT, Progress, render, section, tool_errors, with_context
from tools.params import MAX_NAME_CHARS, AINames, CodeContext, DeadlineS, MaxTokens, Mode, Prompt, Temperature

__all__ = ["AskAllResult", "ask_one", "register"]


class AskAllResult(BaseModel):
    results: list[AIResult]
    succeeded: int
    failed: int


async def ask_one(
    tool: str,
    ai: str,
    mode: ModeName,
    prompt: str,
    context: str | None,
    temperature: float | None,
    max_tokens: int | None,
    deadline_s: float | None = None,
) -> CallToolResult:
    """Ask one AI in a mode; the shared body of ask_ai and the generated ask_<ai> / <ai>_<mode> tools."""
    chosen = MODES[mode]
    started = time.perf_counter()
    with tool_errors(tool):
        name = ai.strip().lower()
        completion = await complete_async(
            name,
            with_context(prompt, context),
            system=chosen.system,
            temperature=chosen.temperature if temperature is None else temperature,
            max_tokens=max_tokens,
            deadline=deadline_s,
        )
    result = AIResult.answered(name, completion, started)
    return render(completion.text, result)


def register(server: MCPServer, settings: Settings) -> None:
    """Register ask_ai and ask_all_ais on `server`."""
    configured = ", ".join(settings.usable_ais) or "none configured yet"

    async def ask_ai(
        ai: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS, description=f"Which AI: {configured}.")],
        prompt: Prompt,
        context: CodeContext = None,
        mode: Mode = "general",
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        return await ask_one("ask_ai", ai, mode, prompt, context, temperature, max_tokens, deadline_s)

    async def ask_all_ais(
        prompt: Prompt,
        ctx: Context,
        ais: AINames = None,
        context: CodeContext = None,
        mode: Mode = "general",
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        chosen = MODES[mode]
        with tool_errors("ask_all_ais"):
            progress = Progress(ctx, total=len(select_ais(ais)))
            results = await call_multiple_ais(
                with_context(prompt, context),
                ais,
                system=chosen.system,
                temperature=chosen.temperature if temperature is None else temperature,
                max_tokens=max_tokens,
                deadline=deadline_s or settings.deadline_s,
                on_result=progress.result,
            )
        succeeded = sum(result.ok for result in results)
        summary = AskAllResult(results=results, succeeded=succeeded, failed=len(results) - succeeded)
        return render("\n\n".join(section(r) for r in results), summary, failed=succeeded == 0)

    server.add_tool(ask_ai, title="Ask one AI", description="Ask one AI; answer as text.", annotations=REACHES_OUT)
    server.add_tool(
        ask_all_ais,
        title="Ask all AIs",
        description="Ask several AIs at once; every answer, failures named.",
        annotations=REACHES_OUT,
    )
