"""Reading votes and tallying them: pure logic, table-driven."""

from __future__ import annotations

import pytest

from ai.consensus import Vote, check_options, parse_vote, tally
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
