"""Reading votes and tallying them: pure logic, table-driven; any text at all is read with bounded work."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collab.consensus import (
    MAX_CHOICE_CHARS,
    MAX_DECODES,
    MAX_VOTE_CHARS,
    Vote,
    _candidates,
    check_options,
    parse_vote,
    tally,
)
from core.errors import InvalidRequest

OPTIONS = ["Postgres", "SQLite", "DuckDB"]


@pytest.mark.parametrize(
    ("text", "options", "choice", "confidence", "reason", "parsed"),
    [
        ('{"choice": "SQLite", "confidence": 0.7, "reason": "embedded"}', OPTIONS, "SQLite", 0.7, "embedded", True),
        ('{"Choice": "sqlite", "Confidence": 70, "Reason": "r"}', OPTIONS, "SQLite", 0.7, "r", True),
        ('```json\n{"choice": "DuckDB", "confidence": "90%"}\n```', OPTIONS, "DuckDB", 0.9, None, True),
        (
            'My vote: {"answer": "Postgres", "confidence": "high", "rationale": "x"} done',
            OPTIONS,
            "Postgres",
            None,
            "x",
            True,
        ),
        ('{"choice": "I pick Postgres for scale", "confidence": 150}', OPTIONS, "Postgres", 1.0, None, True),
        ('{"choice": "DuckDB", "confidence": 7}', OPTIONS, "DuckDB", 0.7, None, True),
        ('{"choice": "DuckDB", "confidence": 1.5}', OPTIONS, "DuckDB", 0.15, None, True),
        ('{"choice": "Oracle", "confidence": 0.5}', OPTIONS, "Oracle", 0.5, None, True),
        ("Definitely SQLite.\nIt is embedded.", OPTIONS, "SQLite", None, "Definitely SQLite.", False),
        ("Postgres or SQLite, hard to say", OPTIONS, None, None, "Postgres or SQLite, hard to say", False),
        ("Use a queue.\nBecause.", None, "Use a queue.", None, None, False),
        ('{"confidence": 0.5}', None, '{"confidence": 0.5}', None, None, False),
        ("", OPTIONS, None, None, None, False),
    ],
)
def test_parse_vote(
    text: str,
    options: list[str] | None,
    choice: str | None,
    confidence: float | None,
    reason: str | None,
    parsed: bool,
) -> None:
    vote = parse_vote("grok", text, options)
    assert (vote.choice, vote.confidence, vote.reason, vote.parsed) == (choice, confidence, reason, parsed)


def votes(*choices: str | None) -> list[Vote]:
    return [Vote(ai=f"ai{i}", choice=choice, parsed=True) for i, choice in enumerate(choices)]


@pytest.mark.parametrize(
    ("choices", "majority", "agreement", "dissent"),
    [
        (("A", "A", "B"), "A", 0.667, ["ai2"]),
        (("A", "a.", "A!"), "A", 1.0, []),
        (("A", "B"), None, 0.5, []),
        (("A", "A", "B", "B"), None, 0.5, []),
        (("A", "A", "B", "C"), None, 0.5, ["ai2", "ai3"]),
        (("A", None, None), "A", 1.0, []),
        ((None, None), None, 0.0, []),
        ((), None, 0.0, []),
    ],
)
def test_tally(choices: tuple[str | None, ...], majority: str | None, agreement: float, dissent: list[str]) -> None:
    found, share, against = tally(votes(*choices))
    assert (found, share, [v.ai for v in against]) == (majority, agreement, dissent)


def test_options_are_cleaned_and_checked() -> None:
    assert check_options([" A ", "B", "A", ""]) == ["A", "B"]
    assert check_options(None) is None
    with pytest.raises(InvalidRequest, match="options must be 2-10 distinct non-empty strings, got 1"):
        check_options(["A", " A "])
    with pytest.raises(InvalidRequest, match="got 11"):
        check_options([str(n) for n in range(11)])


ADVERSARIAL = [
    "[" * 100_000,
    "{" * 50_000,
    '{"a": ' * 5_000 + "1" + "}" * 5_000,
    '{"choice": ' + "9" * 10_000 + "}",
    '{"choice": "A", "confidence": ' + "9" * 4_000 + "}",
    '{"choice": "A", "confidence": 1e400}',
    '{"choice": ' + "[" * 5_000 + "]" * 5_000 + "}",
    "{ prose " * 25_000,
    "```" + " " * 200_000,
    "```json\n" + "{" * 100_000 + "\n```",
    '{"choice": "A"' + " " * 200_000 + "}",
]


def within_bounds(text: str) -> bool:
    """What reading a vote may cost: at most MAX_DECODES decodes, each of at most MAX_VOTE_CHARS."""
    candidates = list(_candidates(text))
    return len(candidates) <= MAX_DECODES and all(len(c) <= MAX_VOTE_CHARS for c in candidates)


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda text: text[:24])
def test_any_text_is_read_as_a_vote_with_bounded_work(text: str) -> None:
    vote = parse_vote("grok", text, OPTIONS)
    assert vote.choice is None or len(vote.choice) <= MAX_CHOICE_CHARS
    assert within_bounds(text)


def test_a_vote_after_the_scanned_part_is_not_looked_for() -> None:
    text = "x" * MAX_VOTE_CHARS + '{"choice": "SQLite"}'
    assert parse_vote("grok", text, OPTIONS).parsed is False


TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet='{}[]":,0123456789.e- \n`json', max_size=3_000),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["{", "[", '{"a":', "```", '{"choice": ', "9"]), st.integers(0, 60_000)
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["choice", "confidence", "reason"]), inner)
        ),
        max_leaves=10,
    ).map(json.dumps),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=TEXTS, prefix=st.text(max_size=20))
def test_no_text_breaks_vote_reading(text: str, prefix: str) -> None:
    vote = parse_vote("grok", prefix + text, OPTIONS)
    assert isinstance(vote, Vote)
    assert vote.confidence is None or 0.0 <= vote.confidence <= 1.0
    assert within_bounds(prefix + text)
