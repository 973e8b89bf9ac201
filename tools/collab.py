"""The collaborative tools: ai_debate, collaborative_solve, ai_consensus."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from ai.consensus import MAX_OPTIONS, ConsensusResult, run_consensus
from ai.debate import MAX_ROUNDS, DebateResult, run_debate
from ai.solve import Approach, SolveResult, run_solve
from core.config import Settings
from tools.boundary import REACHES_OUT, Progress, check_size, render, section, tool_errors, with_context
from tools.params import AINames, CodeContext, DeadlineS

__all__ = ["register"]


def _notes(notes: list[str]) -> str:
    return "\n\nNotes:\n" + "\n".join(f"- {note}" for note in notes) if notes else ""


def render_debate(result: DebateResult) -> str:
    parts = [f"# Debate: {result.topic}"]
    for played in result.rounds:
        parts.append(f"## Round {played.round}")
        parts.extend(section(r, "###") for r in played.results)
    if result.summary is not None and result.summary.ok:
        parts.append(f"## Summary (by {result.summary.ai})\n{result.summary.text}")
    return "\n\n".join(parts) + _notes(result.notes)


def render_solve(result: SolveResult) -> str:
    parts = []
    if result.solution is not None:
        how = "synthesized" if result.approach == "parallel" and len(result.proposals) > 1 else "last refined"
        parts.append(f"## Solution ({how} by {result.solved_by})\n{result.solution.text}")
    label = "Proposals" if result.approach == "parallel" else "Steps"
    parts.append(f"## {label}")
    parts.extend(section(r, "###") for r in result.proposals if r is not result.solution)
    return "\n\n".join(parts) + _notes(result.notes)


def render_consensus(result: ConsensusResult) -> str:
    verdict = f"Majority: {result.majority}" if result.majority else "No majority"
    lines = [f"{verdict} (agreement {result.agreement:.0%} of {len(result.votes)} votes)"]
    for vote in result.votes:
        confidence = f", confidence {vote.confidence:.2f}" if vote.confidence is not None else ""
        unparsed = " [unparsed answer]" if not vote.parsed else ""
        lines.append(f"- {vote.ai}: {vote.choice or '(no choice)'}{confidence}{unparsed} — {vote.reason or ''}")
    lines.extend(f"- {r.ai}: failed ({r.error_kind}): {r.error}" for r in result.results if not r.ok)
    if result.dissent:
        lines.append("Dissent: " + ", ".join(f"{v.ai} ({v.choice})" for v in result.dissent))
    return "\n".join(lines)


def register(server: MCPServer, settings: Settings) -> None:
    """Register ai_debate, collaborative_solve and ai_consensus on `server`."""

    async def ai_debate(
        topic: Annotated[str, Field(min_length=1, description="What to debate.")],
        ctx: Context,
        ais: AINames = None,
        rounds: Annotated[int, Field(ge=1, le=MAX_ROUNDS, description="Rounds, 1-5.")] = 2,
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        with tool_errors("ai_debate"):
            check_size(topic)
            result = await run_debate(
                topic,
                ais,
                rounds,
                deadline_s=deadline_s or settings.deadline_s,
                round_s=settings.debate_round_s,
                notify=Progress(ctx),
            )
        answered = any(r.ok for played in result.rounds for r in played.results)
        return render(render_debate(result), result, failed=not answered)

    async def collaborative_solve(
        problem: Annotated[str, Field(min_length=1, description="The problem to solve.")],
        ctx: Context,
        context: CodeContext = None,
        ais: AINames = None,
        approach: Annotated[
            Approach, Field(description="parallel: all propose, one combines; sequential: each refines the last.")
        ] = "parallel",
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        with tool_errors("collaborative_solve"):
            result = await run_solve(
                with_context(problem, context),
                ais,
                approach,
                deadline_s=deadline_s or settings.deadline_s,
                notify=Progress(ctx),
            )
        return render(render_solve(result), result, failed=result.solution is None)

    async def ai_consensus(
        question: Annotated[str, Field(min_length=1, description="The question to decide.")],
        ctx: Context,
        options: Annotated[
            list[str] | None, Field(min_length=2, max_length=MAX_OPTIONS, description="Choices to pick from.")
        ] = None,
        ais: AINames = None,
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        with tool_errors("ai_consensus"):
            check_size(question, *(options or []))
            result = await run_consensus(
                question, options, ais, deadline_s=deadline_s or settings.deadline_s, notify=Progress(ctx)
            )
        return render(render_consensus(result), result, failed=not result.votes)

    server.add_tool(
        ai_debate,
        title="AI debate",
        description="AIs debate a topic in rounds, each answering the others; then a summary.",
        annotations=REACHES_OUT,
    )
    server.add_tool(
        collaborative_solve,
        title="Collaborative solve",
        description="AIs solve a problem together: parallel proposals combined, or sequential refinement.",
        annotations=REACHES_OUT,
    )
    server.add_tool(
        ai_consensus,
        title="AI consensus",
        description="AIs answer independently with choice, confidence, reason; returns the majority and dissent.",
        annotations=REACHES_OUT,
    )
