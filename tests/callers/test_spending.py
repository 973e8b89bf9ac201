"""What a call's ledger row says besides its cost (`ledger_note`)."""

from __future__ import annotations

import pytest

from callers.spending import ledger_note

CANCELLED = "cancelled after sending ({}): cost unknown, counted at its estimate"


@pytest.mark.parametrize(
    ("cancelled", "streamed", "reported", "max_tokens", "note"),
    [
        pytest.param(False, 40, 40, 100, None, id="an answer within max_tokens"),
        pytest.param(False, None, 40, None, None, id="no max_tokens"),
        pytest.param(
            False,
            None,
            500,
            100,
            "the provider reported 500 output tokens, over max_tokens 100: booked as reported",
            id="reported past max_tokens",
        ),
        pytest.param(True, None, None, 100, CANCELLED.format("nothing streamed yet"), id="cancelled before a token"),
        pytest.param(
            True, 1_200, None, None, CANCELLED.format("1,200 tokens seen streamed"), id="cancelled mid-stream"
        ),
        pytest.param(
            True,
            1_200,
            None,
            1_000,
            CANCELLED.format("1,200 tokens seen streamed")
            + "; the provider streamed 1,200 output tokens, over max_tokens 1,000: booked as streamed",
            id="cancelled past max_tokens",
        ),
    ],
)
def test_the_ledger_note_says_a_call_was_cancelled_after_sending_and_output_past_max_tokens(
    cancelled: bool, streamed: int | None, reported: int | None, max_tokens: int | None, note: str | None
) -> None:
    assert (
        ledger_note(cancelled=cancelled, streamed_tokens=streamed, reported_tokens=reported, max_tokens=max_tokens)
        == note
    )
