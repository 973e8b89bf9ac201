"""Collaborative solving: all AIs propose at once and one synthesizes, or each refines the last in turn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from ai.request import Request
from callers import AIResult, History, Junior, Route, ask_each
from callers.progress import Report
from collab.shared import draw_fence, fenced, labelled, notice, say
from core.errors import InvalidRequest
from core.resilience.deadline import Deadline

__all__ = ["Approach", "SolveResult", "run_solve"]

Approach = Literal["parallel", "sequential"]
MAX_PROPOSAL_CHARS = 6_000
SYSTEM = "You are solving a problem together with other AIs. Be concrete and practical."
TEMPERATURE = 0.5


class SolveResult(BaseModel):
    """What collaborative_solve found: every proposal (or step), the solution and who made it, and notes
    on what went wrong on the way."""

    problem: str
    approach: Approach
    proposals: list[AIResult]
    solution: AIResult | None
    solved_by: str | None
    notes: list[str]


def propose_prompt(problem: str) -> str:
    return f"Problem:\n{problem}\n\nPropose your best solution: the approach, the key steps, and the risks."


def synthesis_prompt(problem: str, proposals: dict[str, str]) -> str:
    fence = draw_fence(*proposals.values())
    listed = labelled(proposals, MAX_PROPOSAL_CHARS, fence)
    return (
        f"Problem:\n{problem}\n\n{notice(fence)}\n\nProposals from several AIs:\n\n{listed}\n\n"
        "Combine them into the single best solution. Keep what is right, drop what is wrong, and name whose "
        "ideas you used by their bracketed labels."
    )


def refine_prompt(problem: str, author: str, current: str) -> str:
    fence = draw_fence(current)
    return (
        f"Problem:\n{problem}\n\n{notice(fence)}\n\nThe current solution, by [{author}]:\n"
        f"{fenced(f'[{author}]', current[:MAX_PROPOSAL_CHARS], fence)}\n\n"
        "Improve it: fix mistakes, fill gaps, simplify. Give the complete improved solution, then one line "
        "on what you changed."
    )


async def run_solve(
    app: Junior,
    problem: str,
    routes: Sequence[Route],
    approach: Approach = "parallel",
    *,
    deadline_s: float | Deadline,
    notify: Report | None = None,
    history: History | None = None,
) -> SolveResult:
    """Solve `problem` with several AIs (`routes`, as the caller chose them: `Junior.select`), within
    `deadline_s` (seconds from now, or the call's running `Deadline`); `history` (a thread's earlier turns,
    per AI) comes before every prompt.

    Raises:
        InvalidRequest: an unknown approach.
    """
    deadline = Deadline.of(deadline_s, app.clock)
    if approach == "parallel":
        return await _parallel(app, problem, routes, deadline, notify, history)
    if approach == "sequential":
        return await _sequential(app, problem, routes, deadline, notify, history)
    raise InvalidRequest(f"approach must be 'parallel' or 'sequential', got {approach!r}")


async def _parallel(
    app: Junior,
    problem: str,
    routes: Sequence[Route],
    deadline: Deadline,
    notify: Report | None,
    history: History | None,
) -> SolveResult:
    async def heard(result: AIResult) -> None:
        await say(notify, f"proposal: {result.describe()}")

    # The proposals and the synthesis share the time: half each, at most.
    propose = Request(propose_prompt(problem), system=SYSTEM, temperature=TEMPERATURE, deadline=deadline.step(2))
    proposals = await ask_each(app, [(route, propose) for route in routes], heard, history=history)
    notes = [f"{r.ai} did not propose: {r.error_kind}: {r.error}" for r in proposals if not r.ok]
    good = [r for r in proposals if r.ok and r.text]
    result = SolveResult(
        problem=problem, approach="parallel", proposals=proposals, solution=None, solved_by=None, notes=notes
    )
    if not good:
        notes.append("No AI proposed a solution.")
        return result
    if len(good) == 1:
        notes.append(f"Only {good[0].ai} proposed a solution, so there was nothing to combine.")
        return result.model_copy(update={"solution": good[0], "solved_by": good[0].ai})
    if deadline.expired:
        notes.append("No synthesis: the deadline was reached; the proposals are all there is.")
        return result
    synthesizer = min(good, key=lambda r: r.latency_s).ai
    combine = synthesis_prompt(problem, {r.ai: r.text or "" for r in good})
    by_name = {route.label: route for route in routes}
    combining = Request(combine, system=SYSTEM, temperature=0.3, deadline=deadline)
    [synthesis] = await ask_each(app, [(by_name[synthesizer], combining)], history=history)
    await say(notify, f"synthesis: {synthesis.describe()}")
    if not synthesis.ok:
        notes.append(f"The synthesis by {synthesizer} failed: {synthesis.error_kind}: {synthesis.error}")
        return result
    return result.model_copy(update={"solution": synthesis, "solved_by": synthesizer})


async def _sequential(
    app: Junior,
    problem: str,
    routes: Sequence[Route],
    deadline: Deadline,
    notify: Report | None,
    history: History | None,
) -> SolveResult:
    names = [route.label for route in routes]
    steps: list[AIResult] = []
    notes: list[str] = []
    current: AIResult | None = None
    for index, route in enumerate(routes):
        name = route.label
        if deadline.expired:
            notes.append(f"The deadline was reached before {', '.join(names[index:])} could refine the solution.")
            break
        prompt = propose_prompt(problem) if current is None else refine_prompt(problem, current.ai, current.text or "")
        request = Request(prompt, system=SYSTEM, temperature=TEMPERATURE, deadline=deadline.step(len(names) - index))
        [step] = await ask_each(app, [(route, request)], history=history)
        steps.append(step)
        await say(notify, f"step {index + 1} of {len(names)}: {step.describe()}")
        if step.ok and step.text:
            current = step
        else:
            notes.append(f"{name} was skipped: {step.error_kind}: {step.error}")
    if current is None:
        notes.append("No AI produced a solution.")
    return SolveResult(
        problem=problem,
        approach="sequential",
        proposals=steps,
        solution=current,
        solved_by=current.ai if current else None,
        notes=notes,
    )
