"""A council's peer review as pure functions: the anonymous labels each reviewer sees, reading a reviewer's
ranking, and the Borda count over the rankings with its tie rule and the dissent.

    shown = arrange(["gemini", "grok", "host"], "gemini", random.Random(7))   # {"A": "host", "B": "grok"}
    order, reasons = parse_ranking(answer, list(shown))                       # (["B", "A"], {"B": "..."})
    scores = borda([(len(shown), [shown[label] for label in order]), ...], ["gemini", "grok", "host"])
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction

from pydantic import BaseModel

__all__ = [
    "Dissent",
    "Ranking",
    "Score",
    "arrange",
    "borda",
    "dissent_of",
    "label",
    "parse_ranking",
    "relabel",
]

MARKER = "FINAL RANKING:"
MAX_REVIEW_CHARS = 50_000  # of a review, read for its ranking: the ranking ends the review
MAX_RANKING_LINES = 80  # after the marker
MAX_MARKERS = 8  # "final ranking" mentions tried, from the last
MAX_REASON_CHARS = 300
_MARKER = re.compile(r"final[\s*_#]*ranking", re.I)
_MARKUP = " \t*_`#>|"
# An item: an optional list mark, then "Response C" (any case, markup around), then its reason.
_ITEM = re.compile(r"(?:\d{1,3}\s*[.):]|[-•+])?[\s*_`]*response\s+([A-Za-z]{1,2})\b[\s*_`]*(.*)", re.I)
# An item without the word: "2. C — reason" (an upper-case letter standing alone after a number).
_BARE = re.compile(r"\d{1,3}\s*[.):]\s*[*_`]*([A-Z]{1,2})[*_`]*(?:\s*[-\u2013\u2014:|(]\s*(.*)|\s*)$")
_MENTION = re.compile(r"\bresponse\s+([A-Za-z]{1,2})\b", re.I)
_SEPARATORS = " \t-\u2013\u2014:|*_`.,;"  # spaces, dashes (en, em), markup, punctuation


class Ranking(BaseModel):
    """One reviewer's ranking.

    Attributes:
        reviewer: The AI that reviewed.
        shown: What it was shown, in the order shown: label ("A") → author (an AI, or "host").
        ranked: The authors it ranked, best first; only shown ones, each once (a partial ranking names fewer).
        reasons: author → its one line of reasoning about that response, when it gave one.
        parsed: False when its review named no shown response after a `FINAL RANKING:` line; then it
            is not counted.
    """

    reviewer: str
    shown: dict[str, str]
    ranked: list[str]
    reasons: dict[str, str]
    parsed: bool


class Score(BaseModel):
    """One candidate's standing after the Borda count.

    Attributes:
        author: An AI, or "host".
        score: The mean of its normalised Borda points over the reviewers who ranked it, 0-1 (1: first
            for every one of them); None when nobody ranked it.
        reviewers: How many parsed rankings named it.
        first_places: How many of those put it first.
        agreement: `first_places / reviewers` (0 when nobody ranked it).
    """

    author: str
    score: float | None
    reviewers: int
    first_places: int
    agreement: float


class Dissent(BaseModel):
    """A reviewer who was shown the winner but put another response first."""

    reviewer: str
    preferred: str
    reason: str | None = None
    on_winner: str | None = None


def label(index: int) -> str:
    """The anonymous label of the `index`-th response shown (0-based): A … Z, then AA, AB …"""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < len(letters) else letters[index // 26 - 1] + letters[index % 26]


def arrange(candidates: Sequence[str], reviewer: str, rng: random.Random, shuffle: bool = True) -> dict[str, str]:
    """What `reviewer` is shown: every candidate but itself, in an order of its own drawn from `rng`
    (in the candidates' order when not `shuffle`), as label → author."""
    others = [author for author in candidates if author != reviewer]
    if shuffle:
        rng.shuffle(others)
    return {label(index): author for index, author in enumerate(others)}


def _reason(text: str) -> str:
    return " ".join(text.strip(_SEPARATORS).split())[:MAX_REASON_CHARS].rstrip(_SEPARATORS)


def _item(line: str) -> tuple[str, str] | None:
    """(label, reason) when `line` is one item of a ranking."""
    line = line.strip(_MARKUP).lstrip(":").strip(_MARKUP)
    found = _ITEM.match(line) or _BARE.match(line)
    return (found.group(1).upper(), _reason(found.group(2) or "")) if found else None


def parse_ranking(text: str, labels: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Read a review's ranking: the lines after its last `FINAL RANKING` line that a ranking follows (any
    case, markdown around it; a later mention in prose is passed over), each naming one response
    ("1. Response C — reason", "- **Response C**: reason", "2) C - reason"), or the marker line itself
    listing them ("FINAL RANKING: Response C, Response A").

    Labels not in `labels` are skipped, a repeated label counts once (its first place), prose before the
    items is skipped and prose after them ends the ranking. Returns the labels ranked, best first, and
    label → reason; both empty when the review has no ranking (then it is not counted).
    """
    text = text[-MAX_REVIEW_CHARS:]
    valid = set(labels)
    for marker in list(_MARKER.finditer(text))[::-1][:MAX_MARKERS]:  # the last one that is followed by a ranking
        order, reasons = _ranking_after(text[marker.end() :], valid)
        if order:
            return order, reasons
    return [], {}


def _ranking_after(text: str, valid: set[str]) -> tuple[list[str], dict[str, str]]:
    order: list[str] = []
    reasons: dict[str, str] = {}
    for index, line in enumerate(text.splitlines()[:MAX_RANKING_LINES]):
        mentioned = [m.upper() for m in _MENTION.findall(line)] if index == 0 else []
        if len(mentioned) > 1:  # all on the marker's line: "FINAL RANKING: Response B, Response A"
            return list(dict.fromkeys(m for m in mentioned if m in valid)), {}
        item = _item(line)
        if item is None:
            if order and line.strip(_MARKUP):
                break  # prose after the ranking
            continue
        name, reason = item
        if name in valid and name not in order:
            order.append(name)
            if reason:
                reasons[name] = reason
    return order, reasons


def relabel(text: str, names: Mapping[str, str]) -> str:
    """`text` with each "Response X" it mentions renamed by `names` (label → new name); others kept."""
    return _MENTION.sub(lambda m: names.get(m.group(1).upper(), m.group(0)), text)


def _points(position: int, shown: int) -> Fraction:
    """Normalised Borda points: 1 for first of `shown`, 0 for last, evenly between."""
    return Fraction(shown - 1 - position, shown - 1)


def borda(rankings: Sequence[tuple[int, Sequence[str]]], order: Sequence[str]) -> list[Score]:
    """The Borda count over parsed rankings, each (how many responses its reviewer was shown, the authors
    it ranked best first); `order` is the candidates in stage-1 order. Returns every candidate's Score,
    best first.

    Normalised so that reviewers shown different numbers of responses weigh the same: a response at
    position p (0-based) of a reviewer shown m gets (m - 1 - p) / (m - 1) points (1 first, 0 last); a
    candidate's score is the mean of its points over the reviewers who ranked it, so a candidate reviewed
    by fewer reviewers (its author never reviews it; a partial ranking leaves it out) is not penalised.
    A reviewer shown fewer than two responses compares nothing and is not counted.

    Ties: higher score, then more first places, then more reviewers who ranked it, then earlier in
    `order`; candidates nobody ranked come last, in `order`.
    """
    points: dict[str, list[Fraction]] = {author: [] for author in order}
    firsts: Counter[str] = Counter()
    for shown, ranked in rankings:
        if shown < 2:
            continue
        for position, author in enumerate(ranked):
            if author in points:
                points[author].append(_points(position, shown))
        if ranked and ranked[0] in points:
            firsts[ranked[0]] += 1
    means = {author: sum(got, Fraction(0)) / len(got) if got else None for author, got in points.items()}

    def rank(item: tuple[int, str]) -> tuple[bool, Fraction, int, int, int]:
        index, author = item
        mean = means[author]
        return (mean is None, -(mean or Fraction(0)), -firsts[author], -len(points[author]), index)

    return [
        Score(
            author=author,
            score=None if means[author] is None else round(float(means[author] or 0), 3),
            reviewers=len(points[author]),
            first_places=firsts[author],
            agreement=round(firsts[author] / len(points[author]), 3) if points[author] else 0.0,
        )
        for _, author in sorted(enumerate(order), key=rank)
    ]


def dissent_of(rankings: Sequence[Ranking], winner: str, scores: Sequence[Score]) -> list[Dissent]:
    """The reviewers shown `winner` whose parsed ranking put another response first, with their reasons
    for their choice and about the winner. Strongest first: the preferred response most dissenters share,
    then the better-scored one; within a group, the reviewers in the order given."""
    dissent = [
        Dissent(
            reviewer=ranking.reviewer,
            preferred=ranking.ranked[0],
            reason=ranking.reasons.get(ranking.ranked[0]),
            on_winner=ranking.reasons.get(winner),
        )
        for ranking in rankings
        if ranking.parsed and ranking.ranked and winner in ranking.shown.values() and ranking.ranked[0] != winner
    ]
    shared = Counter(item.preferred for item in dissent)
    standing = {score.author: index for index, score in enumerate(scores)}
    return sorted(dissent, key=lambda item: (-shared[item.preferred], standing.get(item.preferred, len(standing))))
