"""How a thread's text is kept in the store, the same on SQLite and PostgreSQL, and which thread ids can be.

PostgreSQL's text cannot hold U+0000 (it refuses the whole statement), and SQLite's LIKE and string
functions stop at it. A prompt or an answer may hold it all the same, so the free text of a thread (its
title, its turns) is stored with U+0000 escaped, reversibly, on both backends; every other character is
stored as it is:

    U+0000  →  U+FFFF "0"
    U+FFFF  →  U+FFFF U+FFFF      (the escape itself, so that any text comes back as it was)

U+FFFF is a Unicode noncharacter, kept for a program's internal use: text almost never holds it, so
almost every text is stored unchanged (one scan tells). A search is escaped the same way, so that it finds
U+0000 where it was.
"""

from __future__ import annotations

import re

__all__ = ["ESCAPE", "MAX_THREAD_ID_CHARS", "decode_text", "encode_text", "possible_thread_id"]

ESCAPE = "\uffff"
MAX_THREAD_ID_CHARS = 64  # the id column's width (core/store/schema.py)
_NUL = "\x00"
_ESCAPED = re.compile(f"{ESCAPE}[0{ESCAPE}]")


def encode_text(text: str) -> str:
    """`text` as the store keeps it (see the module docstring)."""
    if _NUL not in text and ESCAPE not in text:
        return text
    return text.replace(ESCAPE, ESCAPE * 2).replace(_NUL, f"{ESCAPE}0")


def decode_text(stored: str) -> str:
    """The text `encode_text` made `stored` from. An escape followed by anything else is left as it is
    (text stored before escaping began)."""
    if ESCAPE not in stored:
        return stored
    return _ESCAPED.sub(lambda found: _NUL if found[0][1] == "0" else ESCAPE, stored)


def possible_thread_id(thread_id: str) -> bool:
    """Whether the store could hold a thread with this id: 1 to 64 printable characters (ids are made by
    the store; one holding U+0000, a control character or a lone surrogate names no thread, and is never
    sent to a database that would refuse it)."""
    return 0 < len(thread_id) <= MAX_THREAD_ID_CHARS and thread_id.isprintable()
