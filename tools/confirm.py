"""Spend asked before it happens: with `confirm_over_usd` set, an AI-asking call whose worst case is more than
that is put to the user before anything is sent.

    add_tool(server, ask_ai, ..., spends=Spends())      # the boundary adds `max_cost_usd` and the question

The question rides the mcp SDK's resolver (`Resolve` + `Elicit`): on 2026-07-28 it is an `InputRequiredResult`
the client answers by calling again, on 2025-11-25 and earlier a mid-call `elicitation/create`; either way it is
asked before the tool's body runs, so a declined call sends nothing to any provider ("not run: declined"). A
client that cannot ask (no form elicitation) gets the estimate instead, and how to go ahead: the same call with
`max_cost_usd` at or above it. Where the client can ask, the user answers, whatever `max_cost_usd` says: the
model cannot approve a spend on the user's behalf.

The worst case is counted before the files are read or the thread loaded, so it takes their caps: the files at
most their share of the smallest context window (or `max_file_tokens` each), a thread's history at most its
share of each AI's window, every answer `max_tokens` (else `WORST_OUTPUT_TOKENS`), and, in the collaborative
tools, every later call sent the others' answers. A model nobody can price has no worst case: the user is asked.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from mcp.types import CallToolResult, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from callers import Junior, Route
from core.config.defaults import CHARS_PER_TOKEN, HISTORY_SHARE, WORST_OUTPUT_TOKENS
from core.errors import JuniorAIError
from core.files.rules import files_budget
from core.money.prices import genai_provider, load_price_list, price_list_loaded, worst_case_usd
from tools.spending import dollars

__all__ = ["SYSTEM_CHARS", "Approval", "Estimate", "GoAhead", "Spends", "refusal", "resolver_for", "worst_case"]

# Our longest system prompt, and the labels and fences around what a prompt quotes, at most: counted on every call.
SYSTEM_CHARS = 2_000
GLOB_CHARS = frozenset("*?[")
# The first protocol revision that asks inside an InputRequiredResult (no mid-call request needed).
INPUT_REQUIRED_VERSION = "2026-07-28"


@dataclass(frozen=True)
class Spends:
    """Marks an AI-asking tool for `add_tool`: its arguments name the AIs (`ai` or `ais`), or it always asks
    `ai` (the full profile's per-AI tools)."""

    ai: str | None = None


class GoAhead(BaseModel):
    """The question's form: one yes/no the client shows the user."""

    go_ahead: bool = Field(default=True, description="Run the call and spend up to the amount shown")


@dataclass(frozen=True)
class Estimate:
    """A call's worst case: `usd` (None when `unpriced` names an AI whose model nobody can price) over `calls`
    provider calls."""

    usd: float | None
    calls: int
    unpriced: tuple[str, ...] = ()

    def describe(self) -> str:
        calls = f"{self.calls} AI call{'' if self.calls == 1 else 's'}"
        if self.usd is None:
            return f"{calls}, of unknown cost (nobody can price {', '.join(self.unpriced)})"
        return f"{calls}, {dollars(self.usd)} at most"


@dataclass(frozen=True)
class Approval:
    """What the question's resolver decided without asking: `run`, or the text that says why not."""

    run: bool
    text: str = ""
    estimate: Estimate | None = None


GO = Approval(run=True)


def _calls(tool: str, arguments: Mapping[str, Any]) -> tuple[int, int, int]:
    """The tool's calls, as (first calls per AI, later calls per AI that see the others' answers, final calls
    at one AI that see everyone's)."""
    if tool == "ai_debate":
        return 1, int(arguments.get("rounds") or 1) - 1, 1  # the rounds, then the summary
    if tool == "collaborative_solve":
        return (0, 1, 0) if arguments.get("approach") == "sequential" else (1, 0, 1)  # refine, or combine
    if tool == "ai_consensus" and arguments.get("method") == "council":
        return 1, 1, 1  # answer, review the others anonymously, the chairman
    return 1, 0, 0


def _routes(app: Junior, arguments: Mapping[str, Any], ai: str | None) -> list[Route]:
    if ai is not None or "ai" in arguments:
        return [app.route(ai or str(arguments["ai"]))]
    return app.select(arguments.get("ais"))


def _text_chars(arguments: Mapping[str, Any]) -> int:
    """What every call is sent of the arguments: the question, its context, the host's answer, the options."""
    texts = [value for value in arguments.values() if isinstance(value, str)]
    listed = [item for item in arguments.get("options") or () if isinstance(item, str)]
    return sum(len(text) for text in [*texts, *listed]) + SYSTEM_CHARS


def _files_tokens(routes: Sequence[Route], files: Sequence[str] | None, max_file_tokens: int) -> int:
    if not files:
        return 0
    budget = files_budget(route.config.context_window for route in routes)
    if any(GLOB_CHARS & set(pattern) for pattern in files):
        return budget  # a glob may match as many files as the budget holds
    return min(budget, len(files) * max_file_tokens)


async def worst_case(app: Junior, tool: str, arguments: Mapping[str, Any], ai: str | None = None) -> Estimate:
    """The most the call `tool(**arguments)` may cost, before anything is read or sent (see the module docstring).

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured, InvalidRequest: the arguments name AIs that cannot be asked.
    """
    if not price_list_loaded():  # genai-prices loads in a worker thread, not on the loop
        await anyio.to_thread.run_sync(load_price_list)
    routes = _routes(app, arguments, ai)
    first, later, final = _calls(tool, arguments)
    answer_tokens = arguments.get("max_tokens") or WORST_OUTPUT_TOKENS
    shared = _text_chars(arguments) + CHARS_PER_TOKEN * _files_tokens(
        routes, arguments.get("files"), app.settings.max_file_tokens
    )
    answers = CHARS_PER_TOKEN * answer_tokens * len(routes)  # what a later call quotes of the others
    total, unpriced, priciest = 0.0, [], 0.0
    for route in routes:
        history = int(route.config.context_window * HISTORY_SHARE) if arguments.get("continuation_id") else 0
        chars = shared + CHARS_PER_TOKEN * history
        alone, quoting = _usd(route, chars, answer_tokens), _usd(route, chars + answers, answer_tokens)
        if alone is None or quoting is None:
            unpriced.append(route.label)
            continue
        total += first * alone + later * quoting
        priciest = max(priciest, quoting)
    calls = (first + later) * len(routes) + final
    if unpriced:
        return Estimate(None, calls, tuple(unpriced))
    return Estimate(total + final * priciest, calls)


def _usd(route: Route, prompt_chars: int, answer_tokens: int) -> float | None:
    provider = genai_provider(route.name, route.config.builtin)
    return worst_case_usd(provider, route.model, prompt_chars, answer_tokens, route.config.prices)


def _can_ask(ctx: Context[Junior, Any]) -> bool:
    """The client takes form elicitation, and this call can carry the question (2026-07-28 asks inside the
    result; older protocols need a connection that can send the client a request mid-call)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    modern = version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)
    return modern or ctx.request_context.session.can_send_request


def _suggested(usd: float) -> str:
    """A max_cost_usd at or above `usd`: rounded up, to four decimals below a dollar."""
    step = 100 if usd >= 1 else 10_000
    return f"{math.ceil(usd * step) / step:g}"


async def _decide(
    ctx: Context[Junior, Any], tool: str, arguments: Mapping[str, Any], ai: str | None
) -> Elicit[GoAhead] | Approval:
    app: Junior = ctx.request_context.lifespan_context
    limit = app.settings.confirm_over_usd
    if limit is None:
        return GO
    try:
        estimate = await worst_case(app, tool, arguments, ai)
    except JuniorAIError:
        return GO  # the arguments cannot work: the tool's body says why, and nothing is sent
    if estimate.usd is not None and estimate.usd <= limit:
        return GO
    over = f"more than confirm_over_usd (${limit:g})"  # the setting as the user wrote it
    if _can_ask(ctx):
        return Elicit(f"{tool}: {estimate.describe()}, {over}. Go ahead?", GoAhead)
    allowed = arguments.get("max_cost_usd")
    if estimate.usd is not None and allowed is not None and estimate.usd <= allowed:
        return GO
    if estimate.usd is None:
        how = 'add "prices" to its block in the configuration, or unset confirm_over_usd'
    else:
        how = f"call again with max_cost_usd: {_suggested(estimate.usd)} (or more) if the user agrees"
    text = f"not run: {estimate.describe()}, {over}, and this client cannot ask the user. To go ahead, {how}."
    return Approval(run=False, text=text, estimate=estimate)


def resolver_for(tool: str, names: Sequence[str], spends: Spends) -> Callable[..., Any]:
    """The resolver that asks about `tool`'s spend: it takes the tool's arguments `names` (the SDK fills a
    resolver's parameters by name) and returns `GO`, an `Approval` that refuses, or the question (`Elicit`)."""

    async def confirm_spend(ctx: Context[Junior, Any], **arguments: Any) -> Elicit[GoAhead] | Approval:
        return await _decide(ctx, tool, arguments, spends.ai)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("ctx", keyword, annotation=Context)]
    parameters += [inspect.Parameter(name, keyword, annotation=Any) for name in names]
    returns = Elicit[GoAhead] | Approval
    confirm_spend.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    confirm_spend.__annotations__ = {"ctx": Context, **dict.fromkeys(names, Any), "return": returns}
    confirm_spend.__qualname__ = f"confirm_spend.{tool}"  # the question's key on the wire: one per tool
    return confirm_spend


def refusal(outcome: ElicitationResult[Any]) -> CallToolResult | None:
    """None when the call may go ahead; else what it answers instead: declined, cancelled, or not asked and
    not approved (the estimate and how to go ahead)."""
    if isinstance(outcome, AcceptedElicitation):
        data = outcome.data
        if isinstance(data, Approval):
            return None if data.run else _not_run(data.text, "needs max_cost_usd", data.estimate, failed=True)
        if isinstance(data, GoAhead) and data.go_ahead:
            return None
        return _not_run("not run: declined", "declined")
    if outcome.action == "decline":
        return _not_run("not run: declined", "declined")
    return _not_run("not run: cancelled", "cancelled")


def _not_run(text: str, why: str, estimate: Estimate | None = None, *, failed: bool = False) -> CallToolResult:
    structured: dict[str, Any] = {"not_run": why}
    if estimate is not None:
        structured["worst_case_usd"] = estimate.usd
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured, is_error=failed)
