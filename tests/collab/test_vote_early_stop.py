"""When a vote may stop early: `decided(votes, remaining)`, table-driven, and checked against every way the
remaining AIs could still vote (each for any choice, a new one, or not counted at all)."""

from __future__ import annotations

from itertools import product

import pytest

from collab.consensus import Vote, decided, tally


def votes(*choices: str | None) -> list[Vote]:
    """Parsed votes for the choices given; None is an answer with no readable vote."""
    return [Vote(ai=f"ai{i}", choice=choice, parsed=choice is not None) for i, choice in enumerate(choices)]


@pytest.mark.parametrize(
    ("choices", "remaining", "expected"),
    [
        pytest.param(("A", "A", "A"), 2, True, id="3 of 5 agree: the 2 left cannot outvote them"),
        pytest.param(("A", "A"), 2, False, id="2 agree, 2 left: 2-2 could follow"),
        pytest.param(("A", "A", "B"), 2, False, id="A leads by 1 with 2 left"),
        pytest.param(("A", "A", "A", "B"), 1, True, id="3-1 with 1 left"),
        pytest.param(("A", "A", "A", "B", "C"), 1, False, id="3 of 5, 1 left: 3 of 6 would be no majority"),
        pytest.param(("A", "B", "C"), 1, True, id="3-way split, 1 left: 2 of 4 at best"),
        pytest.param(("A", "B", "C", "D"), 1, True, id="4-way split: nobody can pass half"),
        pytest.param(("A", "A", "B", "B"), 1, False, id="a tie the last vote breaks"),
        pytest.param(("A", "a.", "A!"), 2, True, id="choices grouped as the tally groups them"),
        pytest.param(("A", None, None), 1, False, id="unparsed answers are no votes"),
        pytest.param((None, None), 0, True, id="nothing left to wait for"),
        pytest.param((), 3, False, id="nobody answered yet"),
        pytest.param(("A",), 0, True, id="the last answer is in"),
    ],
)
def test_decided(choices: tuple[str | None, ...], remaining: int, expected: bool) -> None:
    assert decided(votes(*choices), remaining) is expected


def outcomes(received: tuple[str | None, ...], remaining: int) -> set[str | None]:
    """The majority over all the votes, for every way the `remaining` AIs could vote."""
    pool = ["A", "B", "C", "N1", "N2", None]  # the choices so far, new ones, or no vote at all
    return {tally(votes(*received, *rest)).majority for rest in product(pool, repeat=remaining)}


@pytest.mark.parametrize("remaining", [1, 2, 3])
def test_a_decided_vote_has_the_majority_every_completion_has_and_an_open_one_could_change(remaining: int) -> None:
    for size in range(4):
        for received in product(["A", "B", "C", None], repeat=size):
            now = tally(votes(*received)).majority
            settled = outcomes(received, remaining) == {now}
            assert decided(votes(*received), remaining) is settled, (received, remaining)
