"""A debate: every AI states a position at once, then each round answers the others' last statements."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from ai.request import Request
from callers import AIResult, History, Junior, Route, ask_each
from callers.progress import Report
from collab.council import HOST
from collab.shared import draw_fence, fenced, labelled, notice, say
from core.config.defaults import DEBATE_ROUND_S
from core.errors import InvalidRequest
from core.resilience.deadline import Deadline

__all__ = ["MAX_ROUNDS", "DebateResult", "DebateRound", "run_debate"]

MAX_ROUNDS = 5
MAX_STATEMENT_CHARS = 4_000  # what one AI's statement may add to the others' prompts
SYSTEM = (
    "You are one of several AIs debating a topic. Argue from your own expertise, be concrete, engage with "
    "the other participants' arguments, and keep each statement under 200 words."
)
TEMPERATURE = 0.7


class DebateRound(BaseModel):
    """One round of a debate: every AI's statement (or failure) in it."""

    round: int
    results: list[AIResult]


class DebateResult(BaseModel):
    """A whole debate: its rounds, the summary (None when there was none) and notes on who dropped out.
    With the host's own answer (`host_answer`, "host"), a round-1 statement the AIs answer in round 2,
    `labels` says how each participant was named to the others (all anonymously then)."""

    topic: str
    ais: list[str]
    rounds: list[DebateRound]
    summary: AIResult | None
    notes: list[str]
    host_answer: str | None = None
    labels: dict[str, str] = {}


def opening_prompt(topic: str, rounds: int) -> str:
    return f"Debate topic: {topic}\n\nRound 1 of {rounds}. State your position and your strongest arguments."


def response_prompt(topic: str, number: int, rounds: int, own: str, others: dict[str, str]) -> str:
    """Round `number`'s prompt for one AI: its own last statement and everyone else's, fenced as data
    (see collab.shared)."""
    fence = draw_fence(own, *others.values())
    mine = fenced("[you]", own[:MAX_STATEMENT_CHARS], fence)
    heard = labelled(others, MAX_STATEMENT_CHARS, fence)
    return (
        f"Debate topic: {topic}\n\nRound {number} of {rounds}.\n\n{notice(fence)}\n\nYour previous statement:\n"
        f"{mine}\n\nThe other participants said:\n\n{heard}\n\n"
        "Respond to their arguments: where you agree, where you disagree and why. Refine your position."
    )


def summary_prompt(topic: str, statements: dict[str, str]) -> str:
    fence = draw_fence(*statements.values())
    heard = labelled(statements, MAX_STATEMENT_CHARS, fence)
    return (
        f"Debate topic: {topic}\n\n{notice(fence)}\n\nThe participants' final statements:\n\n{heard}\n\n"
        "Summarize the debate in under 150 words: where they agree, where they still disagree, and the "
        "strongest conclusion."
    )


def participant_labels(names: Iterable[str], rng: random.Random) -> dict[str, str]:
    """Anonymous names for a debate's participants (the host among them): "Participant 1" … in a random order."""
    shuffled = list(names)
    rng.shuffle(shuffled)
    return {name: f"Participant {index}" for index, name in enumerate(shuffled, 1)}


def _prompt(
    topic: str,
    number: int,
    rounds: int,
    name: str,
    statements: dict[str, str],
    active: list[str],
    labels: Mapping[str, str],
    rng: random.Random,
) -> str:
    if number == 1:
        return opening_prompt(topic, rounds)
    heard = [other for other in active if other != name]
    if number == 2 and HOST in statements:  # the host stated its position in round 1 only
        heard.append(HOST)
    if labels:  # anonymous: the host's statement must not stand out by its place either
        rng.shuffle(heard)
    others = {labels.get(other, other): statements[other] for other in heard}
    return response_prompt(topic, number, rounds, statements[name], others)


async def run_debate(
    app: Junior,
    topic: str,
    routes: Sequence[Route],
    rounds: int = 2,
    *,
    deadline_s: float | Deadline,
    round_s: float = DEBATE_ROUND_S,
    notify: Report | None = None,
    history: History | None = None,
    host_answer: str | None = None,
    rng: random.Random | None = None,
) -> DebateResult:
    """Run a debate of `rounds` rounds among `routes` (the AIs the caller chose: `Junior.select`), then have
    the fastest remaining AI summarize it.

    `host_answer`, the host's own position, joins round 1 as one more participant's statement: in round 2
    every AI answers it among the others, all named anonymously ("Participant 2", numbered by `rng`), and
    the summary reads it as the host's.

    An AI that fails drops out with a note; the debate goes on while at least two remain. Every round
    (and the summary) gets a fair share of the time left before the deadline (`deadline_s`: seconds from
    now, or the call's running `Deadline`, made by the tool as the call came in), and a round at most
    `round_s`.
    `history` (a thread's earlier turns, per AI) comes before every prompt.

    Raises:
        InvalidRequest: fewer than two AIs, rounds outside 1-5, or an AI named "host" beside `host_answer`.
    """
    names = _check(routes, rounds, host_answer)
    rng = rng or random.Random()
    debate = _Debate(
        app,
        topic,
        {route.label: route for route in routes},
        rounds,
        Deadline.of(deadline_s, app.clock),
        round_s,
        notify,
        history,
        rng,
        labels=participant_labels([*names, HOST], rng) if host_answer is not None else {},
        statements={HOST: host_answer.strip()} if host_answer is not None else {},
        active=names,
    )
    await debate.play_all()
    summary = await debate.summary()
    return DebateResult(
        topic=topic,
        ais=names,
        rounds=debate.played,
        summary=summary,
        notes=debate.notes,
        host_answer=host_answer,
        labels=debate.labels,
    )


@dataclass
class _Debate:
    """One debate under way: who is asked how, what each said last, and what happened."""

    app: Junior
    topic: str
    by_name: dict[str, Route]
    rounds: int
    deadline: Deadline
    round_s: float
    notify: Report | None
    history: History | None
    rng: random.Random
    labels: dict[str, str]
    statements: dict[str, str]
    active: list[str]
    latencies: dict[str, float] = field(default_factory=dict)
    played: list[DebateRound] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    async def play_all(self) -> None:
        """Every round in turn, while the deadline lasts and two AIs remain."""
        for number in range(1, self.rounds + 1):
            if self.deadline.expired:
                self.notes.append(f"The deadline was reached after round {number - 1}.")
                return
            if not await self.play(number):
                return

    async def play(self, number: int) -> bool:
        """Play round `number`; whether the debate goes on (at least two AIs still debating)."""

        async def heard(result: AIResult) -> None:
            await say(self.notify, f"round {number}: {result.describe()}")

        # This round, the later ones and the summary share what is left of the time.
        this_round = self.deadline.step(self.rounds - number + 2, at_most=self.round_s)
        ask = Request("", system=SYSTEM, temperature=TEMPERATURE, deadline=this_round)
        prompts = {
            name: _prompt(self.topic, number, self.rounds, name, self.statements, self.active, self.labels, self.rng)
            for name in self.active
        }
        calls = [(self.by_name[name], ask.asking(prompt)) for name, prompt in prompts.items()]
        results = await ask_each(self.app, calls, heard, history=self.history)
        self.played.append(DebateRound(round=number, results=results))
        self.active = _heard(results, number, self.statements, self.latencies, self.notes)
        await say(self.notify, f"round {number} of {self.rounds} done: {len(self.active)} AIs still debating")
        if len(self.active) >= 2:
            return True
        if not self.active:
            self.notes.append(f"No AI answered in round {number}.")
        elif number < self.rounds:
            self.notes.append(f"Only {self.active[0]} remains, so the debate ended after round {number}.")
        return False

    async def summary(self) -> AIResult | None:
        """The fastest remaining AI's summary of the final statements; None (with a note) without one."""
        summarizer = _summarizer(self.active, self.latencies, self.deadline, self.notes)
        if summarizer is None:
            return None
        final = {name: self.statements[name] for name in [*self.active, HOST] if name in self.statements}
        request = Request(summary_prompt(self.topic, final), temperature=0.3, deadline=self.deadline)
        [summary] = await ask_each(self.app, [(self.by_name[summarizer], request)])
        await say(self.notify, f"summary: {summary.describe()}")
        if not summary.ok:
            self.notes.append(f"The summary by {summarizer} failed: {summary.error_kind}: {summary.error}")
        return summary


def _check(routes: Sequence[Route], rounds: int, host_answer: str | None) -> list[str]:
    """The debaters' names.

    Raises:
        InvalidRequest: fewer than two AIs, rounds outside 1-5, or an AI named "host" beside `host_answer`.
    """
    if not 1 <= rounds <= MAX_ROUNDS:
        raise InvalidRequest(f"rounds must be 1-{MAX_ROUNDS}, got {rounds}")
    names = [route.label for route in routes]
    if len(names) < 2:
        raise InvalidRequest(f"a debate needs at least two AIs; got {', '.join(names)}")
    if host_answer is not None and HOST in names:
        raise InvalidRequest(f'an AI is named "{HOST}", which names host_answer in the result; leave one out')
    return names


def _heard(
    results: list[AIResult], number: int, statements: dict[str, str], latencies: dict[str, float], notes: list[str]
) -> list[str]:
    """Take in a round's statements; the AIs still debating (a failed one drops out, with a note)."""
    for result in results:
        if result.ok and result.text:
            statements[result.ai], latencies[result.ai] = result.text, result.latency_s
        else:
            notes.append(f"{result.ai} dropped out in round {number}: {result.error_kind}: {result.error}")
    return [result.ai for result in results if result.ok]


def _summarizer(active: list[str], latencies: dict[str, float], deadline: Deadline, notes: list[str]) -> str | None:
    """Who summarizes: the fastest AI still debating; None (with a note) when there is to be no summary."""
    if len(active) < 2:
        if active:
            notes.append("No summary: fewer than two AIs were left.")
        return None
    if deadline.expired:
        notes.append("No summary: the deadline was reached.")
        return None
    return min(active, key=lambda name: latencies[name])
