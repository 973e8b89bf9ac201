"""The pure rules of core/files/rules.py that keep odd paths and names in their place: a control character
refuses a path, a name is quoted on one line, a text gets a fence it cannot close."""

from __future__ import annotations

import json

import pytest

from core.files.rules import control_character, fence, printable, quoted


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("src/a\x00.py", "U+0000, character 6"),
        ("a\nb.txt", "U+000A, character 2"),
        ("\tx", "U+0009, character 1"),
        ("x\x7f", "U+007F, character 2"),
        ("x\x85y", "U+0085, character 2"),  # NEL: a line break to some readers
        ("x\u2028y", "U+2028, character 2"),
        ("x\u2029y", "U+2029, character 2"),
    ],
)
def test_a_path_with_a_control_character_is_refused_saying_which_and_where(path: str, found: str) -> None:
    rule = control_character(path)
    assert rule is not None and found in rule and "a path is printable text" in rule


@pytest.mark.parametrize("path", ["src/a.py", "my notes.md", "café/ünïcode.txt", "数据.csv", "a\u00a0b", ""])
def test_an_ordinary_path_has_no_control_character(path: str) -> None:
    assert control_character(path) is None


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("src/a.py", '"src/a.py"'),
        ("a\n--- fake.txt ---\nb.txt", '"a\\n--- fake.txt ---\\nb.txt"'),
        ('say "hi".txt', '"say \\"hi\\".txt"'),
        ("back\\slash", '"back\\\\slash"'),
        ("nul\x00", '"nul\\u0000"'),
        ("nel\x85", '"nel\\u0085"'),
        ("line\u2028sep", '"line\\u2028sep"'),
        ("café", '"café"'),
    ],
)
def test_a_name_is_quoted_on_one_line_and_reads_back_as_json(name: str, shown: str) -> None:
    assert quoted(name) == shown
    assert len(shown.splitlines()) == 1 and json.loads(shown) == name


@pytest.mark.parametrize(
    ("name", "shown"), [("src/a.py", "src/a.py"), ("my notes.md", "my notes.md"), ("a\nb", '"a\\nb"')]
)
def test_a_printable_name_is_shown_bare_and_any_other_quoted(name: str, shown: str) -> None:
    assert printable(name) == shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", "```"), ("", "```"), ("`inline`", "```"), ("```\ncode\n```", "````"), ("a ````` b", "``````")],
)
def test_a_fence_is_longer_than_any_run_of_backticks_in_the_text(text: str, expected: str) -> None:
    assert fence(text) == expected
