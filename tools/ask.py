"""ask_ai and ask_all_ais: one AI, or several at once, in any mode."""

import time
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from ai.request import Request
from callers import AIResult, ask_routes, completed
from collab.modes import MODES, ModeName
from core.config import Settings
from core.errors import ProviderError
from tools.boundary import Answer, AppContext, Progress, add_tool, app_of, section, with_context
from tools.params import MAX_NAME_CHARS, AINames, CodeContext, DeadlineS, MaxTokens, Mode, Prompt, Temperature

__all__ = ["AskAllResult", "ask_one", "register"]


class AskAllResult(BaseModel):
    """ask_all_ais's structured content: every AI's result, in the order asked, and the counts."""

    results: list[AIResult]
    succeeded: int
    failed: int


def mode_request(
    mode: ModeName, prompt: str, temperature: float | None, max_tokens: int | None, deadline_s: float | None
) -> Request:
    """The request for `prompt` in `mode`: the mode's system prompt, and its temperature unless given."""
    chosen = MODES[mode]
    return Request(
        prompt,
        system=chosen.system,
        temperature=chosen.temperature if temperature is None else temperature,
        max_tokens=max_tokens,
        deadline=deadline_s,
    )


async def ask_one(
    ctx: AppContext,
    ai: str,
    mode: ModeName,
    prompt: str,
    context: str | None,
    temperature: float | None,
    max_tokens: int | None,
    deadline_s: float | None = None,
) -> Answer:
    """Ask one AI in a mode; the shared body of ask_ai and the generated ask_<ai> / <ai>_<mode> tools.

    The provider's failure is an error result whose structured content is the AI's `AIResult`, as in
    ask_all_ais; a name or configuration that cannot work raises (the boundary makes it a tool error).

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured, InvalidRequest: the AI cannot be asked this.
    """
    app = app_of(ctx)
    route = app.route(ai)
    name = route.label
    request = mode_request(mode, with_context(app, prompt, context), temperature, max_tokens, deadline_s)
    started = time.perf_counter()
    try:
        completion = await completed(app, route, request)
    except ProviderError as error:  # this AI failed: say so as data a program can read, not only as text
        return Answer(str(error), AIResult.failed(name, error.model, error, started), failed=True)
    return Answer(completion.text, AIResult.answered(name, completion, started))


def register(server: MCPServer, settings: Settings) -> None:
    """Register ask_ai and ask_all_ais on `server`."""
    configured = ", ".join(settings.usable_ais) or "none configured yet"

    async def ask_ai(
        ai: Annotated[
            str,
            Field(
                min_length=1, max_length=MAX_NAME_CHARS, description=f"Which AI: {configured}; ai:model picks a model."
            ),
        ],
        prompt: Prompt,
        ctx: AppContext,
        context: CodeContext = None,
        mode: Mode = "general",
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        deadline_s: DeadlineS = None,
    ) -> Answer:
        return await ask_one(ctx, ai, mode, prompt, context, temperature, max_tokens, deadline_s)

    async def ask_all_ais(
        prompt: Prompt,
        ctx: AppContext,
        ais: AINames = None,
        context: CodeContext = None,
        mode: Mode = "general",
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        deadline_s: DeadlineS = None,
    ) -> Answer:
        app = app_of(ctx)
        routes = app.select(ais)
        request = mode_request(
            mode, with_context(app, prompt, context), temperature, max_tokens, deadline_s or app.settings.deadline_s
        )
        results = await ask_routes(app, routes, request, Progress(ctx, len(routes)).result)
        succeeded = sum(result.ok for result in results)
        summary = AskAllResult(results=results, succeeded=succeeded, failed=len(results) - succeeded)
        return Answer("\n\n".join(section(r) for r in results), summary, failed=succeeded == 0)

    add_tool(server, ask_ai, title="Ask one AI", description="Ask one AI; answer as text.")
    add_tool(
        server, ask_all_ais, title="Ask all AIs", description="Ask several AIs at once; every answer, failures named."
    )
