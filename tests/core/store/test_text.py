"""How a thread's text is kept: U+0000 escaped reversibly (PostgreSQL cannot hold it), everything else as it
is; and which ids could name a thread."""

from __future__ import annotations

import pytest

from core.store.text import decode_text, encode_text, possible_thread_id


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("plain text, ünïcode, \\0 and \\u0000", "plain text, ünïcode, \\0 and \\u0000"),
        ("a\x00b", "a\uffff0b"),
        ("\x00\x00", "\uffff0\uffff0"),
        ("\uffff", "\uffff\uffff"),
        ("\uffff0", "\uffff\uffff0"),
        ("\uffff\x00", "\uffff\uffff\uffff0"),
        ("", ""),
    ],
)
def test_nul_is_escaped_and_comes_back_as_it_was(text: str, stored: str) -> None:
    assert encode_text(text) == stored
    assert "\x00" not in stored
    assert decode_text(stored) == text


def test_an_escape_the_store_did_not_write_is_read_as_it_is() -> None:
    assert decode_text("old \uffffx row") == "old \uffffx row"


@pytest.mark.parametrize(
    ("thread_id", "possible"),
    [
        ("0123456789abcdef0123456789abcdef", True),
        ("any printable id", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("abc\x00", False),
        ("tab\t", False),
        ("\ud800", False),
    ],
)
def test_only_an_id_the_store_could_hold_names_a_thread(thread_id: str, possible: bool) -> None:
    assert possible_thread_id(thread_id) is possible
