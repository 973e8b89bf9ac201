"""ask_ai and ask_all_ais: one AI, or several at once, in any mode."""

import time
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from ai.request import Request
from callers import AIResult, ask_route, ask_routes
from callers.fanout import with_history
from callers.progress import TokenProgress
from callers.quorum import check_min_answers, not_waited_for, quorum
from collab.modes import MODES, ModeName
from core.config.settings import Settings
from core.errors import BudgetExceeded, ProviderError
from tools.answer import Answer, section
from tools.boundary import add_tool
from tools.confirm import Spends
from tools.context import AppContext, app_of
from tools.params import (
    MAX_NAME_CHARS,
    AINames,
    CodeContext,
    ContinuationId,
    DeadlineS,
    Files,
    MaxTokens,
    MinAnswers,
    Mode,
    Prompt,
    Temperature,
)
from tools.progress import Progress
from tools.turn import taking_turn

__all__ = ["AskAllResult", "ask_ai", "ask_all_ais", "ask_one", "register"]


class AskAllResult(BaseModel):
    """ask_all_ais's structured content: every AI's result, in the order asked, and the counts; with
    `min_answers`, the AIs cancelled once that many had answered are `not_waited_for` (no result)."""

    results: list[AIResult]
    succeeded: int
    failed: int
    not_waited_for: list[str] = []


def mode_request(mode: ModeName, prompt: str, temperature: float | None, max_tokens: int | None) -> Request:
    """The request for `prompt` in `mode`: the mode's system prompt, and its temperature unless given (the
    turn adds the call's deadline: `CallTurn.request`)."""
    chosen = MODES[mode]
    return Request(
        prompt,
        system=chosen.system,
        temperature=chosen.temperature if temperature is None else temperature,
        max_tokens=max_tokens,
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
    continuation_id: str | None = None,
    files: list[str] | None = None,
    *,
    tool: str = "ask_ai",
) -> Answer:
    """Ask one AI in a mode; the shared body of ask_ai and the generated ask_<ai> / <ai>_<mode> tools.

    The provider's failure is an error result whose structured content is the AI's `AIResult`, as in
    ask_all_ais; a name or configuration that cannot work raises (the boundary makes it a tool error).

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured, InvalidRequest: the AI cannot be asked this.
        FileRefused, UnknownThread, ThreadBusy: a file or the thread cannot be used.
    """
    async with taking_turn(
        ctx,
        tool,
        prompt,
        ais=[ai],
        deadline_s=deadline_s,
        default_deadline_s=app_of(ctx).settings.ask_deadline_s,
        context=context,
        continuation_id=continuation_id,
        files=files,
    ) as turn:
        [route] = turn.routes
        request = with_history(
            turn.request(mode_request(mode, prompt, temperature, max_tokens)), route, turn.history_for
        )
        started = time.perf_counter()
        tokens = TokenProgress(Progress(ctx, 1).note, turn.app.clock).counter(route.label)  # "grok: 320 tokens"
        try:
            completion = await ask_route(turn.app, route, request, on_tokens=tokens)
        except (ProviderError, BudgetExceeded) as error:  # this AI failed: as data a program can read, too
            result = AIResult.failed(route.label, getattr(error, "model", route.model), error, started)
            await turn.record([result])
            return turn.finish(Answer(str(error), result, failed=True))
        result = AIResult.answered(route.label, completion, started)
        await turn.record([result])
    return turn.finish(Answer(completion.text, result))


async def ask_ai(
    ai: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)],
    prompt: Prompt,
    ctx: AppContext,
    context: CodeContext = None,
    mode: Mode = "general",
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    deadline_s: DeadlineS = None,
    continuation_id: ContinuationId = None,
    files: Files = None,
) -> Answer:
    """The ask_ai tool: one AI, in a mode (its `ai` parameter's description, naming the configured AIs, is
    set at registration: `register`)."""
    return await ask_one(ctx, ai, mode, prompt, context, temperature, max_tokens, deadline_s, continuation_id, files)


async def ask_all_ais(
    prompt: Prompt,
    ctx: AppContext,
    ais: AINames = None,
    context: CodeContext = None,
    mode: Mode = "general",
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    deadline_s: DeadlineS = None,
    continuation_id: ContinuationId = None,
    files: Files = None,
    min_answers: MinAnswers = None,
) -> Answer:
    """The ask_all_ais tool: several AIs at once, the same request; with `min_answers`, the rest are
    cancelled once that many answered."""
    enough = quorum(min_answers) if min_answers is not None else None
    async with taking_turn(
        ctx,
        "ask_all_ais",
        prompt,
        ais=ais,
        deadline_s=deadline_s,
        context=context,
        continuation_id=continuation_id,
        files=files,
        check=lambda routes: check_min_answers(min_answers, len(routes)),
    ) as turn:
        request = turn.request(mode_request(mode, prompt, temperature, max_tokens))
        progress = Progress(ctx, len(turn.routes))
        results = await ask_routes(
            turn.app,
            turn.routes,
            request,
            progress.result,
            history=turn.history_for,
            enough=enough,
            on_progress=progress.note,
        )
        await turn.record(results)
    succeeded = sum(result.ok for result in results)
    skipped = not_waited_for([route.label for route in turn.routes], results)
    summary = AskAllResult(
        results=results, succeeded=succeeded, failed=len(results) - succeeded, not_waited_for=skipped
    )
    text = "\n\n".join(section(r) for r in results)
    if skipped:
        text += f"\n\nNot waited for ({min_answers} answered): {', '.join(skipped)}"
    return turn.finish(Answer(text, summary, failed=succeeded == 0))


def register(server: MCPServer, settings: Settings) -> None:
    """Register ask_ai and ask_all_ais on `server`; ask_ai's `ai` parameter names the configured AIs."""
    configured = ", ".join(settings.usable_ais) or "none configured yet"
    described = Annotated[
        str,
        Field(min_length=1, max_length=MAX_NAME_CHARS, description=f"Which AI: {configured}; ai:model picks a model."),
    ]
    add_tool(
        server,
        ask_ai,
        title="Ask one AI",
        description="Ask one AI; answer as text.",
        parameter_types={"ai": described},
        spends=Spends(),
    )
    add_tool(
        server,
        ask_all_ais,
        title="Ask all AIs",
        description="Ask several AIs at once; every answer, failures named.",
        spends=Spends(),
        panel="answers",
    )
