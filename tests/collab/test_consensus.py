"""Reading votes and tallying them: pure logic, table-driven; any text at all is read with bounded work.
Then through the real client: what ai_consensus says agrees with its structured content."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client

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
from core.config.settings import Settings
from core.errors import InvalidRequest
from serve.main import build_server
from tests.fakes import FakeProvider

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
        ('{"choice": "DuckDB", "confidence": 7}', OPTIONS, "DuckDB", 0.7, None, True),
        ('{"choice": "DuckDB", "confidence": 1.5}', OPTIONS, "DuckDB", 0.15, None, True),
        ('{"choice": "SQLite", "reason": null}', OPTIONS, "SQLite", None, None, True),
        # A JSON choice is the AI's answer as written when it is not an option: counted, never guessed at.
        ('{"choice": "Oracle", "confidence": 0.5}', OPTIONS, "Oracle", 0.5, None, True),
        ('{"choice": "I pick Postgres for scale"}', OPTIONS, "I pick Postgres for scale", None, None, True),
        ('{"choice": "Use a queue"}', None, "Use a queue", None, None, True),
        # An option alone on a line, markup aside, is a vote; named inside prose, it is not.
        ("SQLite\nIt is embedded.", OPTIONS, "SQLite", None, None, True),
        ("My pick:\n- **sqlite**.\n", OPTIONS, "SQLite", None, None, True),
        ("> `DuckDB`!", OPTIONS, "DuckDB", None, None, True),
        ("SQLite\nsqlite", OPTIONS, "SQLite", None, None, True),
        ('{"choice": null}\nDuckDB', OPTIONS, "DuckDB", None, None, True),
        ("SQLite\nPostgres", OPTIONS, None, None, None, False),
        ("Definitely SQLite.\nIt is embedded.", OPTIONS, None, None, None, False),
        ("Postgres or SQLite, hard to say", OPTIONS, None, None, None, False),
        ("There is no simple answer here.", ["yes", "no"], None, None, None, False),
        ("No.", ["yes", "no"], "no", None, None, True),
        ("SQLite", None, None, None, None, False),
        ("Use a queue.\nBecause.", None, None, None, None, False),
        ('{"confidence": 0.5}', None, None, None, None, False),
        ('{"choice": "", "reason": "r"}', OPTIONS, None, None, None, False),
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
    """Parsed votes for the choices given; None is an unparsed answer."""
    return [Vote(ai=f"ai{i}", choice=choice, parsed=choice is not None) for i, choice in enumerate(choices)]


@pytest.mark.parametrize(
    ("choices", "majority", "agreeing", "parsed", "agreement", "dissent"),
    [
        (("A", "A", "B"), "A", 2, 3, 0.667, ["ai2"]),
        (("A", "a.", "A!"), "A", 3, 3, 1.0, []),
        (("A", "B"), None, 1, 2, 0.5, []),
        (("A", "A", "B", "B"), None, 2, 4, 0.5, []),
        (("A", "A", "B", "C"), None, 2, 4, 0.5, ["ai2", "ai3"]),
        (("A", None, None, None), "A", 1, 1, 1.0, []),
        (("A", "B", None, None), None, 1, 2, 0.5, []),
        ((None, None), None, 0, 0, 0.0, []),
        ((), None, 0, 0, 0.0, []),
    ],
)
def test_tally(
    choices: tuple[str | None, ...],
    majority: str | None,
    agreeing: int,
    parsed: int,
    agreement: float,
    dissent: list[str],
) -> None:
    counted = tally(votes(*choices))
    assert (counted.majority, counted.agreeing, counted.parsed) == (majority, agreeing, parsed)
    assert (counted.agreement, [v.ai for v in counted.dissent]) == (agreement, dissent)


def test_unparsed_answers_never_count_as_votes() -> None:
    unparsed = [Vote(ai=f"u{i}", choice="B", parsed=False) for i in range(3)]
    counted = tally([Vote(ai="p", choice="A", parsed=True), *unparsed])
    assert (counted.majority, counted.agreeing, counted.parsed, counted.dissent) == ("A", 1, 1, [])


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


@hypothesis.settings(max_examples=300, deadline=None, derandomize=True)
@given(text=TEXTS, prefix=st.text(max_size=20))
def test_no_text_breaks_vote_reading(text: str, prefix: str) -> None:
    vote = parse_vote("grok", prefix + text, OPTIONS)
    assert isinstance(vote, Vote)
    assert vote.confidence is None or 0.0 <= vote.confidence <= 1.0
    assert within_bounds(prefix + text)


HEADLINE = re.compile(
    r"(?:Majority: (?P<majority>.+?)|No majority)"
    r"(?: \(agreement (?P<percent>\d+)%: (?P<agreeing>\d+) of (?P<counted>\d+) parsed votes\))?"
    r"; (?P<parsed>\d+) of (?P<answered>\d+) votes parsed(?:; (?P<failed>\d+) AIs? failed)?"
)


def headline_agrees(text: str, verdict: dict[str, Any]) -> None:
    """Every number in the first line of `text` is the structured content's."""
    found = HEADLINE.fullmatch(text.splitlines()[0])
    assert found, text
    votes, results = verdict["votes"], verdict["results"]
    assert found["majority"] == verdict["majority"]
    assert int(found["parsed"]) == verdict["parsed"] == sum(v["parsed"] for v in votes)
    assert int(found["answered"]) == len(votes) == sum(r["ok"] for r in results)
    assert int(found["failed"] or 0) == sum(not r["ok"] for r in results)
    if verdict["parsed"]:
        assert (int(found["agreeing"]), int(found["counted"])) == (verdict["agreeing"], verdict["parsed"])
        assert f"{found['percent']}%" == f"{verdict['agreement']:.0%}"
        assert verdict["agreement"] == round(verdict["agreeing"] / verdict["parsed"], 3)
    else:
        assert found["agreeing"] is None and (verdict["agreeing"], verdict["agreement"]) == (0, 0.0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "vote"),
    [
        pytest.param('{"choice": "no", "confidence": 0.6, "reason": "too risky"}', "no", id="JSON"),
        pytest.param('Here you go:\n```json\n{"choice": "No"}\n```', "no", id="fenced JSON"),
        pytest.param("My answer:\n**No.**\nIt is too risky.", "no", id="option alone on a line"),
        pytest.param('{"choice": "maybe"}', "maybe", id="JSON choice that is no option"),
        pytest.param("The answer is yes for small teams.", None, id="option inside prose"),
        pytest.param("There is no simple answer here.", None, id="bare no in prose"),
        pytest.param("}{]] \u2028 ``` not json", None, id="garbage"),
    ],
)
async def test_the_consensus_headline_agrees_with_its_structured_content_and_counts_only_parsed_votes(
    fake: FakeProvider, settings: Settings, answer: str, vote: str | None
) -> None:
    fake.behave("gemini", text='{"choice": "yes", "reason": "cheap"}')
    fake.behave("deepseek", text=answer)
    fake.behave("grok", status=400)  # not retried: fails at once
    arguments = {"question": "Ship it?", "options": ["yes", "no"], "ais": ["gemini", "deepseek", "grok"]}
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("ai_consensus", arguments)
    verdict, text = result.structured_content or {}, result.content[0].text  # type: ignore[union-attr]
    headline_agrees(text, verdict)
    deepseek = next(v for v in verdict["votes"] if v["ai"] == "deepseek")
    assert (deepseek["choice"], deepseek["parsed"]) == (vote, vote is not None)
    assert verdict["parsed"] == (2 if vote else 1)
    if vote is None:
        assert verdict["majority"] == "yes" and verdict["dissent"] == []
        assert "- deepseek: unparsed answer, not counted" in text
    else:
        assert verdict["majority"] is None and [v["ai"] for v in verdict["dissent"]] == []
    assert "- grok: failed (bad_request): " in text
    dangling = [line for line in text.splitlines() if line.rstrip().endswith(("—", ":", ",", "("))]
    assert not dangling, text


@pytest.mark.anyio
async def test_a_consensus_without_any_answer_says_so(fake: FakeProvider, settings: Settings) -> None:
    for ai in ("gemini", "deepseek"):
        fake.behave(ai, status=400)
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("ai_consensus", {"question": "Ship it?", "ais": ["gemini", "deepseek"]})
    verdict, text = result.structured_content or {}, result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and text.splitlines()[0] == "No majority; 0 of 0 votes parsed; 2 AIs failed"
    headline_agrees(text, verdict)
