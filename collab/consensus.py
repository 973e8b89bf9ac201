"""Consensus: every AI answers independently (nobody sees another's answer), then the votes are tallied."""

from __future__ import annotations

import json
import re
import reprlib
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any

from pydantic import BaseModel

from ai.request import Request
from callers import AIResult, Junior, ask_all
from collab.shared import Notify, say
from core.errors import InvalidRequest

__all__ = ["ConsensusResult", "Vote", "check_options", "consensus_prompt", "parse_vote", "run_consensus", "tally"]

MAX_OPTIONS = 10
MAX_CHOICE_CHARS = 200
SYSTEM = "Answer independently and honestly. Reply with only a JSON object, no other text."
TEMPERATURE = 0.2
MAX_VOTE_CHARS = 20_000  # of an answer, read for its vote: a vote is a small JSON object near the start
MAX_DECODES = 16  # JSON decodes tried per answer, whatever the text
MAX_CONFIDENCE_CHARS = 40
_FENCE = re.compile(r"```(?:json)?\s*+(.*?)```", re.S | re.I)  # possessive: no backtracking into \s*
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DECODER = json.JSONDecoder()
_REPR = reprlib.Repr()  # its limits are set below (Python 3.11 takes no keyword arguments)
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, MAX_CHOICE_CHARS, MAX_CHOICE_CHARS, 40


class Vote(BaseModel):
    """One AI's vote: its choice, confidence and reason; `parsed` is False when its answer held no
    readable vote and the choice was guessed from the text."""

    ai: str
    choice: str | None
    confidence: float | None = None
    reason: str | None = None
    parsed: bool


class ConsensusResult(BaseModel):
    """The tally: every AI's result and vote, the majority choice (None without one), the share of votes
    that agree with it, and the votes that dissent."""

    question: str
    options: list[str] | None
    results: list[AIResult]
    votes: list[Vote]
    majority: str | None
    agreement: float
    dissent: list[Vote]


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


def _match_option(text: str, options: list[str] | None) -> str | None:
    """The option `text` names: an exact (case-blind) match, else the only option mentioned in it."""
    if not options:
        return None
    folded = text.casefold().strip().strip(".!\"'")
    for option in options:
        if option.casefold() == folded:
            return option
    mentioned = [o for o in options if re.search(rf"(?<!\w){re.escape(o.casefold())}(?!\w)", text.casefold())]
    return mentioned[0] if len(mentioned) == 1 else None


def parse_vote(ai: str, text: str, options: list[str] | None) -> Vote:
    """Read one AI's answer as a vote. A non-JSON answer still counts, marked `parsed=False`."""
    data = _json_object(text)
    if data is not None:
        fields = {str(key).casefold(): value for key, value in data.items()}
        raw = fields.get("choice", fields.get("answer", fields.get("option")))
        if raw is not None:
            choice = _short(raw)
            reason = fields.get("reason", fields.get("rationale"))
            return Vote(
                ai=ai,
                choice=_match_option(choice, options) or choice,
                confidence=_confidence(fields.get("confidence")),
                reason=_short(reason) if reason is not None else None,
                parsed=True,
            )
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")[:MAX_CHOICE_CHARS]
    if options:
        return Vote(ai=ai, choice=_match_option(text, options), reason=first_line or None, parsed=False)
    return Vote(ai=ai, choice=first_line or None, reason=None, parsed=False)


def _key(choice: str) -> str:
    return re.sub(r"[\W_]+", " ", choice.casefold()).strip()


def tally(votes: list[Vote]) -> tuple[str | None, float, list[Vote]]:
    """(majority choice or None, agreement 0-1, the dissenting votes) over the votes that made a choice.

    The majority is the choice of more than half of them; agreement is the largest group's share.
    """
    counted = [vote for vote in votes if vote.choice]
    if not counted:
        return None, 0.0, []
    groups = Counter(_key(vote.choice or "") for vote in counted)
    (top, size), *rest = groups.most_common()
    tied = bool(rest) and rest[0][1] == size
    leader = None if tied else next(vote.choice for vote in counted if _key(vote.choice or "") == top)
    majority = leader if size * 2 > len(counted) else None
    dissent = [vote for vote in counted if _key(vote.choice or "") != top] if leader else []
    return majority, round(size / len(counted), 3), dissent


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
    options: list[str] | None = None,
    ais: Iterable[str] | None = None,
    *,
    deadline_s: float,
    notify: Notify | None = None,
) -> ConsensusResult:
    """Ask every AI the same question independently and concurrently; tally their votes.

    Raises:
        InvalidRequest: bad options.
        NoAIConfigured, UnknownAI, AIUnavailable: the AIs cannot be asked.
    """
    options = check_options(options)

    async def heard(result: AIResult) -> None:
        await say(notify, result.describe())

    request = Request(consensus_prompt(question, options), system=SYSTEM, temperature=TEMPERATURE, deadline=deadline_s)
    results = await ask_all(app, ais, request, heard)
    votes = [parse_vote(r.ai, r.text or "", options) for r in results if r.ok]
    majority, agreement, dissent = tally(votes)
    return ConsensusResult(
        question=question,
        options=options,
        results=results,
        votes=votes,
        majority=majority,
        agreement=agreement,
        dissent=dissent,
    )
