"""Consensus: every AI answers independently (nobody sees another's answer), then the votes are tallied.

The vote stops early once the AIs still to answer cannot change its outcome, whatever they vote
(`decided`): those are cancelled, named in `not_waited_for`, and the notes say so.
"""

from __future__ import annotations

import json
import re
import reprlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, Literal

from pydantic import BaseModel

from ai.request import Request
from callers import AIResult, History, Junior, Route, ask_routes
from callers.progress import Report
from callers.quorum import not_waited_for
from collab.council import HOST, CouncilResult, run_council
from collab.shared import say
from core.errors import InvalidRequest
from core.resilience.deadline import Deadline

__all__ = [
    "ConsensusResult",
    "Method",
    "Tally",
    "Vote",
    "check_options",
    "consensus_prompt",
    "decided",
    "parse_vote",
    "run_consensus",
    "tally",
]

Method = Literal["vote", "council"]
MAX_OPTIONS = 10
MAX_CHOICE_CHARS = 200
SYSTEM = "Answer independently and honestly. Reply with only a JSON object, no other text."
TEMPERATURE = 0.2
MAX_VOTE_CHARS = 20_000  # of an answer, read for its vote: a vote is a small JSON object near the start
MAX_DECODES = 16  # JSON decodes tried per answer, whatever the text
MAX_CONFIDENCE_CHARS = 40
_FENCE = re.compile(r"```(?:json)?\s*+(.*?)```", re.S | re.I)  # possessive: no backtracking into \s*
_MARKUP = " \t*_`\"'"  # around an option alone on a line: spaces, emphasis, code, quotes
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DECODER = json.JSONDecoder()
_REPR = reprlib.Repr()  # its limits are set below (Python 3.11 takes no keyword arguments)
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, MAX_CHOICE_CHARS, MAX_CHOICE_CHARS, 40


class Vote(BaseModel):
    """One AI's vote: its choice, confidence and reason. `parsed` is False when its answer held no
    readable vote (no JSON choice, no option alone on a line); such an answer has no choice and is not
    counted."""

    ai: str
    choice: str | None
    confidence: float | None = None
    reason: str | None = None
    parsed: bool


class ConsensusResult(BaseModel):
    """The tally. Only parsed votes count: of the `len(votes)` AIs that answered (and "host", when the host
    gave its own answer), `parsed` gave a readable vote; `agreeing` of those chose the most chosen answer,
    and `agreement` is `agreeing / parsed` (0 when nothing was parsed). The majority is a choice of more
    than half of the parsed votes (None without one, ties included); `dissent` holds the parsed votes
    against it. Unparsed answers are in `votes` with `parsed: false`, and count in none of these. The AIs
    cancelled once the vote was decided (`decided`) are in `not_waited_for`, with a note; they count
    nowhere."""

    question: str
    options: list[str] | None
    results: list[AIResult]
    votes: list[Vote]
    majority: str | None
    agreement: float
    agreeing: int
    parsed: int
    dissent: list[Vote]
    not_waited_for: list[str] = []
    notes: list[str] = []


def consensus_prompt(question: str, options: list[str] | None) -> str:
    choose = f"Choose exactly one of these options (a JSON list): {json.dumps(options)}\n\n" if options else ""
    return (
        f"Question: {question}\n\n{choose}"
        'Reply with only this JSON: {"choice": "<your answer>", "confidence": <0.0 to 1.0>, '
        '"reason": "<one line>"}'
    )


def _candidates(text: str) -> Iterator[str]:
    """Where a vote's JSON object may start — the whole answer, each code fence, then each "{" in it —
    at most MAX_DECODES of them, within the first MAX_VOTE_CHARS characters: bounded work on any text."""
    text = text[:MAX_VOTE_CHARS]
    fences = (match.group(1).strip() for match in _FENCE.finditer(text))
    braces = (text[start:] for start in _positions(text, "{"))
    return islice(chain([text.strip()], fences, braces), MAX_DECODES)


def _positions(text: str, char: str) -> Iterator[int]:
    start = text.find(char)
    while start != -1:
        yield start
        start = text.find(char, start + 1)


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`: bare, in a code fence, or inside prose."""
    for candidate in _candidates(text):
        try:
            value, _ = _DECODER.raw_decode(candidate)
        except (ValueError, RecursionError):  # not JSON, a number past 4,300 digits, nesting past the stack
            continue
        if isinstance(value, dict):
            return value
    return None


def _confidence(value: Any) -> float | None:
    """0-1 from 0.8, "0.8", 8 (of 10), 80, "80%"; None when there is no number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    shown = value[:MAX_CONFIDENCE_CHARS] if isinstance(value, str) else repr(value)[:MAX_CONFIDENCE_CHARS]
    match = _NUMBER.search(shown)
    if not match:
        return None
    number = float(match.group())
    if "%" in shown or number > 10:
        number /= 100  # a percentage
    elif number > 1:
        number /= 10  # a 0-10 scale
    return min(1.0, max(0.0, number))


def _short(value: Any) -> str:
    """A parsed JSON value as text of bounded size and depth (str() of deep nesting would recurse)."""
    return (value if isinstance(value, str) else _REPR.repr(value)).strip()[:MAX_CHOICE_CHARS]


def _bare(text: str) -> str:
    """`text` without the markup around it (spaces, markdown, quotes, a list or quote mark, end
    punctuation), case-folded: "- **SQLite**." and "sqlite" are the same."""
    return text.strip().lstrip(_MARKUP + ">#-").rstrip(_MARKUP + ".!").casefold()


def _as_option(text: str, options: list[str] | None) -> str | None:
    """The option that `text` is, as a whole (markup aside); None when it is none of them."""
    bare = _bare(text)
    return next((option for option in options or [] if bare and _bare(option) == bare), None)


def _option_alone(text: str, options: list[str]) -> str | None:
    """The one option that stands alone on a line of `text`; None when none does, or several do."""
    wanted = {bare: option for option in options if (bare := _bare(option))}
    found = {wanted[bare] for line in text[:MAX_VOTE_CHARS].splitlines() if (bare := _bare(line)) in wanted}
    return found.pop() if len(found) == 1 else None


def parse_vote(ai: str, text: str, options: list[str] | None) -> Vote:
    """Read one AI's answer as a vote: the choice of its JSON object (bare, fenced or inside prose; the
    option it names when it is one, else as written), or, when options were given and there is no JSON
    choice, the one option standing alone on a line. Nothing else is a vote — not an option named inside
    prose, not a bare word — and such an answer is returned unparsed: no choice, `parsed=False`."""
    data = _json_object(text)
    if data is not None:
        fields = {str(key).casefold(): value for key, value in data.items()}
        raw = fields.get("choice", fields.get("answer", fields.get("option")))
        choice = _short(raw) if raw is not None else ""
        if choice:
            reason = fields.get("reason", fields.get("rationale"))
            return Vote(
                ai=ai,
                choice=_as_option(choice, options) or choice,
                confidence=_confidence(fields.get("confidence")),
                reason=(_short(reason) or None) if reason is not None else None,
                parsed=True,
            )
    alone = _option_alone(text, options) if options else None
    return Vote(ai=ai, choice=alone, parsed=alone is not None)


def _key(choice: str) -> str:
    return re.sub(r"[\W_]+", " ", choice.casefold()).strip()


@dataclass(frozen=True)
class Tally:
    """The count over the parsed votes (see ConsensusResult for what each number means)."""

    majority: str | None
    agreeing: int
    parsed: int
    dissent: list[Vote]

    @property
    def agreement(self) -> float:
        """`agreeing / parsed`, to three places; 0.0 when nothing was parsed."""
        return round(self.agreeing / self.parsed, 3) if self.parsed else 0.0


def tally(votes: list[Vote]) -> Tally:
    """Count the parsed votes; unparsed answers count nowhere.

    Choices are grouped case- and punctuation-blind. `agreeing` is the largest group's size; the
    majority is its choice when it holds more than half of the parsed votes (a tie has no majority and
    no dissent); the dissent is every parsed vote outside it.
    """
    counted = [vote for vote in votes if vote.parsed and vote.choice]
    if not counted:
        return Tally(majority=None, agreeing=0, parsed=0, dissent=[])
    groups = Counter(_key(vote.choice or "") for vote in counted)
    (top, size), *rest = groups.most_common()
    tied = bool(rest) and rest[0][1] == size
    leader = None if tied else next(vote.choice for vote in counted if _key(vote.choice or "") == top)
    majority = leader if size * 2 > len(counted) else None
    dissent = [vote for vote in counted if _key(vote.choice or "") != top] if leader else []
    return Tally(majority=majority, agreeing=size, parsed=len(counted), dissent=dissent)


def decided(votes: list[Vote], remaining: int) -> bool:
    """Whether `remaining` more answers can no longer change the vote's outcome, whatever they say.

    Each remaining AI may vote for any choice, a new one included, or not be counted (it fails, or its
    answer is unparsed). The majority is settled when the leading choice has more votes than all the
    others together plus every remaining one; its absence is settled when no choice, even given every
    remaining vote, could pass half of the parsed votes. Either way the tally of the votes in hand has
    the outcome that all the votes would have had.
    """
    counted = [vote for vote in votes if vote.parsed and vote.choice]
    top = max(Counter(_key(vote.choice or "") for vote in counted).values(), default=0)
    others = len(counted) - top
    return top > others + remaining or 2 * top + remaining <= len(counted)


def check_options(options: list[str] | None) -> list[str] | None:
    """Options stripped and de-duplicated.

    Raises:
        InvalidRequest: fewer than two distinct options, or more than ten.
    """
    if options is None:
        return None
    cleaned = list(dict.fromkeys(option.strip() for option in options if option.strip()))
    if not 2 <= len(cleaned) <= MAX_OPTIONS:
        raise InvalidRequest(f"options must be 2-{MAX_OPTIONS} distinct non-empty strings, got {len(cleaned)}")
    return cleaned


async def run_consensus(
    app: Junior,
    question: str,
    routes: Sequence[Route],
    options: list[str] | None = None,
    *,
    deadline_s: float | Deadline,
    notify: Report | None = None,
    history: History | None = None,
    method: Method = "vote",
    host_answer: str | None = None,
    chairman: Route | None = None,
) -> ConsensusResult | CouncilResult:
    """Ask every AI of `routes` (as the caller chose them: `Junior.select`) the same question independently
    and concurrently (after `history`, a thread's earlier turns per AI); tally their votes (`vote`:
    `host_answer`, the host's own, is one more vote, "host"), or hold a council (`council`: collab.council,
    `chairman` writing the final answer). Once the rest cannot change a vote's outcome (`decided`), the AIs
    still asked are cancelled and named in `not_waited_for` and the notes. All within `deadline_s`: seconds
    from now, or the call's running `Deadline`.

    Raises:
        InvalidRequest: bad options, an unknown method.
    """
    options = check_options(options)
    if method == "council":
        return await run_council(
            app,
            question,
            routes,
            deadline_s=deadline_s,
            options=options,
            host_answer=host_answer,
            chairman=chairman,
            notify=notify,
            history=history,
        )
    if method != "vote":
        raise InvalidRequest(f"method must be 'vote' or 'council', got {method!r}")
    return await _vote(app, question, routes, options, deadline_s, notify, history, host_answer)


async def _vote(
    app: Junior,
    question: str,
    routes: Sequence[Route],
    options: list[str] | None,
    deadline_s: float | Deadline,
    notify: Report | None,
    history: History | None,
    host_answer: str | None,
) -> ConsensusResult:
    """The vote: every AI answers alone, the host's answer counted from the start; the AIs still asked are
    cancelled once the outcome is `decided`."""

    async def heard(result: AIResult) -> None:
        await say(notify, result.describe())

    host = [parse_vote(HOST, host_answer, options)] if host_answer is not None else []  # in from the start

    def settled(results: list[AIResult]) -> bool:
        votes = [parse_vote(r.ai, r.text or "", options) for r in results if r.ok]
        return decided(votes + host, len(routes) - len(results))

    request = Request(consensus_prompt(question, options), system=SYSTEM, temperature=TEMPERATURE, deadline=deadline_s)
    results = await ask_routes(app, routes, request, heard, history=history, enough=settled)
    votes = [parse_vote(r.ai, r.text or "", options) for r in results if r.ok] + host
    counted = tally(votes)
    skipped = not_waited_for([route.label for route in routes], results)
    stopped = f"Stopped early: the vote was decided once {len(results)} of {len(routes)} AIs had answered"
    notes = [f"{stopped}; not waited for: {', '.join(skipped)}"] if skipped else []
    return ConsensusResult(
        question=question,
        options=options,
        results=results,
        votes=votes,
        majority=counted.majority,
        agreement=counted.agreement,
        agreeing=counted.agreeing,
        parsed=counted.parsed,
        dissent=counted.dissent,
        not_waited_for=skipped,
        notes=notes,
    )
