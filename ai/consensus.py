"""Consensus: every AI answers independently (nobody sees another's answer), then the votes are tallied."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from ai.caller import AIResult, Notify, call_multiple_ais
from core.errors import InvalidRequest

__all__ = ["ConsensusResult", "Vote", "check_options", "consensus_prompt", "parse_vote", "run_consensus", "tally"]

MAX_OPTIONS = 10
MAX_CHOICE_CHARS = 200
SYSTEM = "Answer independently and honestly. Reply with only a JSON object, no other text."
TEMPERATURE = 0.2
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class Vote(BaseModel):
    ai: str
    choice: str | None
    confidence: float | None = None
    reason: str | None = None
    parsed: bool


class ConsensusResult(BaseModel):
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


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`: bare, in a code fence, or inside prose."""
    candidates = [text.strip(), *(match.strip() for match in _FENCE.findall(text))]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    for start in (index for index, char in enumerate(text) if char == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _confidence(value: Any) -> float | None:
    """0-1 from 0.8, "0.8", 8 (of 10), 80, "80%"; None when there is no number."""
    if isinstance(value, bool) or value is None:
        return None
    match = _NUMBER.search(str(value))
    if not match:
        return None
    number = float(match.group())
    if "%" in str(value) or number > 10:
        number /= 100  # a percentage
    elif number > 1:
        number /= 10  # a 0-10 scale
    return min(1.0, max(0.0, number))


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
            choice = str(raw).strip()[:MAX_CHOICE_CHARS]
            reason = fields.get("reason", fields.get("rationale"))
            return Vote(
                ai=ai,
                choice=_match_option(choice, options) or choice,
                confidence=_confidence(fields.get("confidence")),
                reason=str(reason).strip()[:MAX_CHOICE_CHARS] if reason is not None else None,
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
        if notify is not None:
            await notify(result.describe())

    results = await call_multiple_ais(
        consensus_prompt(question, options),
        ais,
        system=SYSTEM,
        temperature=TEMPERATURE,
        deadline=deadline_s,
        on_result=heard,
    )
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
