"""The collaborative tools: ai_debate, collaborative_solve, ai_consensus."""

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from callers import AIResult
from collab.consensus import MAX_OPTIONS, ConsensusResult, Method, Vote, run_consensus
from collab.council import HOST, CouncilResult
from collab.debate import MAX_ROUNDS, DebateResult, run_debate
from collab.solve import Approach, SolveResult, run_solve
from core.config.settings import Settings
from tools.answer import Answer, section
from tools.boundary import add_tool
from tools.confirm import Spends
from tools.context import AppContext
from tools.params import MAX_NAME_CHARS, AINames, CodeContext, ContinuationId, DeadlineS, Files, HostAnswer
from tools.progress import Progress
from tools.turn import taking_turn

__all__ = ["ai_consensus", "ai_debate", "collaborative_solve", "register"]

MAX_EXCERPT_CHARS = 120  # of an unparsed answer or a reason, in the consensus text


def _notes(notes: list[str]) -> str:
    return "\n\nNotes:\n" + "\n".join(f"- {note}" for note in notes) if notes else ""


def render_debate(result: DebateResult) -> str:
    parts = [f"# Debate: {result.topic}"]
    if result.labels:
        parts.append("Named to the AIs as: " + ", ".join(f"{name} = {shown}" for name, shown in result.labels.items()))
    for played in result.rounds:
        parts.append(f"## Round {played.round}")
        if played.round == 1 and result.host_answer is not None:
            parts.append(f"### {HOST} (your answer, shown to the AIs anonymously)")
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


def consensus_headline(result: ConsensusResult) -> str:
    """The consensus text's first line, whose every number is in the structured content:

        Majority: SQLite (agreement 67%: 2 of 3 parsed votes); 3 of 4 votes parsed; 1 AI failed

    (`agreement`: `agreeing` of `parsed`; 4 is `len(votes)`, the AIs that answered; the failed AIs are
    the `results` that are not `ok`.)
    """
    if result.parsed:
        verdict = f"Majority: {result.majority}" if result.majority else "No majority"
        verdict += f" (agreement {result.agreement:.0%}: {result.agreeing} of {result.parsed} parsed votes)"
    else:
        verdict = "No majority"
    parts = [verdict, f"{result.parsed} of {len(result.votes)} votes parsed"]
    failed = sum(not r.ok for r in result.results)
    if failed:
        parts.append(f"{failed} AI{'' if failed == 1 else 's'} failed")
    return "; ".join(parts)


def _one_line(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    """`text` on one line, cut at a word boundary to about `limit` characters."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return (line[:limit].rsplit(" ", 1)[0] or line[:limit]) + " …"


def _vote_line(vote: Vote, answer: str | None) -> str:
    if not vote.parsed:
        excerpt = _one_line(answer or "")
        return f"- {vote.ai}: unparsed answer, not counted" + (f': "{excerpt}"' if excerpt else "")
    confidence = f" (confidence {vote.confidence:.2f})" if vote.confidence is not None else ""
    reason = " ".join((vote.reason or "").split())
    return f"- {vote.ai}: {vote.choice}{confidence}" + (f" — {reason}" if reason else "")


def render_consensus(result: ConsensusResult) -> str:
    answers = {r.ai: r.text for r in result.results if r.ok}
    lines = [consensus_headline(result)]
    lines.extend(_vote_line(vote, answers.get(vote.ai)) for vote in result.votes)
    for failed in (r for r in result.results if not r.ok):
        lines.append(f"- {failed.ai}: failed ({failed.error_kind})" + (f": {failed.error}" if failed.error else ""))
    if result.dissent:
        lines.append("Dissent: " + ", ".join(f"{v.ai} ({v.choice})" for v in result.dissent))
    return "\n".join(lines) + _notes(result.notes)


def council_headline(result: CouncilResult) -> str:
    """The council text's first line:

    Council: gemini ranked first (score 0.83, first for 2 of 3 reviewers); chairman: gemini; 3 of 4 reviews ranked
    """
    top = next((score for score in result.scores if score.author == result.winner), None)
    if top is not None and top.score is not None:
        verdict = f"Council: {top.author} ranked first (score {top.score:.2f}, first for {top.first_places} of "
        verdict += f"{top.reviewers} reviewer{'' if top.reviewers == 1 else 's'})"
    else:
        verdict = f"Council: no ranking; {len(result.candidates)} answer{'' if len(result.candidates) == 1 else 's'}"
    parts = [verdict, f"chairman: {result.chairman}" if result.chairman else "no chairman"]
    if result.reviews:
        ranked = sum(ranking.parsed for ranking in result.rankings)
        parts.append(f"{ranked} of {len(result.reviews)} reviews ranked")
    return "; ".join(parts)


def render_council(result: CouncilResult) -> str:
    """Compact: the headline, the final answer (else the top-ranked one), the ranking with a line of each
    answer, and the dissent; every answer in full is in the structured content."""
    answers = {r.ai: r for r in result.answers if r.ok}
    lines = [council_headline(result)]
    if result.synthesis is not None and result.synthesis.ok:
        lines.append(f"## Final answer (by {result.chairman}, chairman)\n{result.synthesis.text}")
    elif (best := result.winner or next(iter(result.candidates), None)) in answers:
        lines.append(f"## Top answer (by {best}; no final answer)\n{answers[best].text}")
    if result.scores:
        lines.append("## Ranking (Borda score 0-1)")
        for index, score in enumerate(result.scores, 1):
            shown = "not ranked" if score.score is None else f"{score.score:.2f}, first for {score.first_places} of "
            shown += "" if score.score is None else f"{score.reviewers}"
            excerpt = "your answer" if score.author == HOST else _one_line(answers[score.author].text or "")
            lines.append(f"{index}. {score.author} ({shown}): {excerpt}")
    for dissent in result.dissent:
        reason = f": {_one_line(dissent.reason)}" if dissent.reason else ""
        lines.append(f"- dissent: {dissent.reviewer} preferred {dissent.preferred}{reason}")
    return "\n".join(lines) + _notes(result.notes)


def _given(text: str | None) -> str | None:
    """A text parameter stripped; None when it is blank (as if left out)."""
    return (text or "").strip() or None


def _last_statements(result: DebateResult) -> list[AIResult]:
    """What a debate leaves in its thread: each AI's last statement, then the summary."""
    last: dict[str, AIResult] = {}
    for played in result.rounds:
        last.update((r.ai, r) for r in played.results if r.ok)
    return [*last.values(), *([result.summary] if result.summary is not None else [])]


async def ai_debate(
    topic: Annotated[str, Field(min_length=1, description="What to debate.")],
    ctx: AppContext,
    ais: AINames = None,
    rounds: Annotated[int, Field(ge=1, le=MAX_ROUNDS, description="Rounds, 1-5.")] = 2,
    deadline_s: DeadlineS = None,
    continuation_id: ContinuationId = None,
    files: Files = None,
    host_answer: HostAnswer = None,
) -> Answer:
    """The ai_debate tool: the AIs debate `topic` in rounds, then one summarizes."""
    async with taking_turn(
        ctx,
        "ai_debate",
        topic,
        ais=ais,
        deadline_s=deadline_s,
        continuation_id=continuation_id,
        files=files,
        also_sent=[host_answer],
    ) as turn:
        result = await run_debate(
            turn.app,
            turn.prompt,
            turn.routes,
            rounds,
            deadline_s=turn.deadline,
            round_s=turn.app.settings.debate_round_s,
            notify=Progress(ctx),
            history=turn.history_for,
            host_answer=_given(host_answer),
        )
        await turn.record(_last_statements(result))
    result = result.model_copy(update={"topic": topic})  # not the files the AIs were sent with it
    answered = any(r.ok for played in result.rounds for r in played.results)
    return turn.finish(Answer(render_debate(result), result, failed=not answered))


async def collaborative_solve(
    problem: Annotated[str, Field(min_length=1, description="The problem to solve.")],
    ctx: AppContext,
    context: CodeContext = None,
    ais: AINames = None,
    approach: Annotated[
        Approach, Field(description="parallel: all propose, one combines; sequential: each refines the last.")
    ] = "parallel",
    deadline_s: DeadlineS = None,
    continuation_id: ContinuationId = None,
    files: Files = None,
) -> Answer:
    """The collaborative_solve tool: the AIs propose and one combines, or each refines the last."""
    async with taking_turn(
        ctx,
        "collaborative_solve",
        problem,
        ais=ais,
        deadline_s=deadline_s,
        context=context,
        continuation_id=continuation_id,
        files=files,
    ) as turn:
        result = await run_solve(
            turn.app,
            turn.prompt,
            turn.routes,
            approach,
            deadline_s=turn.deadline,
            notify=Progress(ctx),
            history=turn.history_for,
        )
        solution = [result.solution] if result.solution and result.solution not in result.proposals else []
        await turn.record([*result.proposals, *solution])
    result = result.model_copy(update={"problem": problem})  # not the context and files sent with it
    return turn.finish(Answer(render_solve(result), result, failed=result.solution is None))


async def ai_consensus(
    question: Annotated[str, Field(min_length=1, description="The question to decide.")],
    ctx: AppContext,
    options: Annotated[
        list[str] | None, Field(min_length=2, max_length=MAX_OPTIONS, description="Choices to pick from.")
    ] = None,
    ais: AINames = None,
    deadline_s: DeadlineS = None,
    continuation_id: ContinuationId = None,
    files: Files = None,
    method: Method = "vote",
    host_answer: HostAnswer = None,
    chairman: Annotated[str | None, Field(max_length=MAX_NAME_CHARS, description="Council's chair.")] = None,
) -> Answer:
    """The ai_consensus tool: a vote on `question` (or `options`), or a council."""
    async with taking_turn(
        ctx,
        "ai_consensus",
        question,
        ais=ais,
        deadline_s=deadline_s,
        continuation_id=continuation_id,
        files=files,
        also_sent=[host_answer, *(options or [])],
    ) as turn:
        result = await run_consensus(
            turn.app,
            turn.prompt,
            turn.routes,
            options,
            deadline_s=turn.deadline,
            notify=Progress(ctx),
            history=turn.history_for,
            method=method,
            host_answer=_given(host_answer),
            chairman=turn.app.route(chairman) if chairman is not None and method == "council" else None,
        )
        if isinstance(result, CouncilResult):
            await turn.record([*result.answers, *([result.synthesis] if result.synthesis else [])])
        else:
            await turn.record(result.results)
    result = result.model_copy(update={"question": question})  # not the files the AIs were sent with it
    if isinstance(result, CouncilResult):
        answered = any(r.ok for r in result.answers)
        return turn.finish(Answer(render_council(result), result, failed=not answered))
    return turn.finish(Answer(render_consensus(result), result, failed=not result.votes))


def register(server: MCPServer, settings: Settings) -> None:
    """Register ai_debate, collaborative_solve and ai_consensus on `server`."""
    add_tool(
        server,
        ai_debate,
        title="AI debate",
        description="AIs debate a topic in rounds, each answering the others; then a summary.",
        spends=Spends(),
        panel="answers",
    )
    add_tool(
        server,
        collaborative_solve,
        title="Collaborative solve",
        description="AIs solve a problem together: parallel proposals combined, or sequential refinement.",
        spends=Spends(),
        panel="answers",
    )
    add_tool(
        server,
        ai_consensus,
        title="AI consensus",
        description="AIs answer independently with choice, confidence, reason; returns the majority and dissent. "
        "council: they rank each other's answers anonymously, then a chairman answers (~3 calls per AI).",
        spends=Spends(),
        panel="council",  # which renders a vote as the answers panel does (tools/panels)
    )
