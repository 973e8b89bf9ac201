"""Values from a provider's answer are untrusted: each is checked and cleaned here, once, where it enters.

A provider (or a proxy in front of it) may send anything: a model name of 10,000 characters, a token
count that is negative, fractional, NaN or 10**30, an error message that is a list, a body nested 5,000
deep or not UTF-8. What leaves these functions is a short plain string, a sane count, or None (error
reasons are then made printable and short by ai.errors).

It may also send a key back: its own, or (through a shared proxy or a log it read) another AI's. Every
text that enters is masked with the client's `Redactor`, which knows every key of the configuration
(`Settings.secrets`): the answer's text (`answer_text`), names (`name_of`: none that holds a key), model ids
and error reasons. So no stored turn, ledger row or prompt to another AI can carry a key, since each is
made of what entered here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from itertools import islice
from typing import Any

from ai.request import Usage
from core.redact import Redactor

__all__ = [
    "MAX_MODELS",
    "answer_text",
    "body_reason",
    "cost_usd",
    "message_of",
    "model_ids",
    "name_of",
    "plain",
    "token_count",
    "usage_of",
]

MAX_NAME_CHARS = 200  # a model name or a finish reason; longer is not a name
MAX_TOKEN_COUNT = 10**9  # more tokens than any model reads or writes in one call: not a count
MAX_COST_USD = 100_000.0  # more than any one call costs: not a price
MAX_BODY_CHARS = 100_000  # of an error body, read for its message; the rest cannot be shown anyway
MAX_MODELS = 5_000  # of one provider's model list: more is not a list anyone picks from (the first, sorted, kept)
# Entries of a model list read at most: duplicates and junk may hide the ids among them, but not without end.
MAX_MODEL_ENTRIES = MAX_MODELS * 4


def plain(value: Any, limit: int = MAX_NAME_CHARS) -> str | None:
    """`value` if it is a short, non-empty, printable str (no control characters, no lone surrogates)."""
    if isinstance(value, str) and 0 < len(value) <= limit and value.isprintable():
        return value
    return None


def name_of(value: Any, redactor: Redactor) -> str | None:
    """`value` as a name the provider gives (a model, a finish reason): `plain`, and holding nothing the
    redactor masks (a name that holds a key is no name)."""
    name = plain(value)
    return name if name is not None and redactor.redact(name) == name else None


def answer_text(text: str, redactor: Redactor) -> str:
    """An answer's text as it is kept, shown and quoted to other AIs: every known key (or a run of
    `core.redact.PARTIAL_CHARS` of its characters) masked by its hint, and each lone surrogate (which would
    break the next prompt that quotes it, the wire and the store) replaced."""
    return redactor.clean(text)


def token_count(value: Any) -> int | None:
    """`value` as a token count: a non-negative int within reason (12.0 counts; 1.5, NaN, -1, True do not)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # is_integer() is False for NaN and infinities
    if type(value) is int and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    return None


def cost_usd(value: Any) -> float | None:
    """`value` as what a call cost, in dollars: a finite, non-negative number within reason (0.0012 and 3
    count; "0.1", -1, NaN, 1e309, True, a list do not)."""
    if type(value) is int and 0 <= value <= MAX_COST_USD:
        return float(value)
    if type(value) is float and math.isfinite(value) and 0.0 <= value <= MAX_COST_USD:
        return value
    return None


def body_reason(body: bytes) -> str | None:
    """The message of an error body — `{"error": {"message": ...}}`, `{"message": ...}`, `{"error": "..."}`
    — else the body's own text; None when it is empty. Never raises, whatever the bytes."""
    text = body[: MAX_BODY_CHARS * 4].decode("utf-8", errors="replace")[:MAX_BODY_CHARS]
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, a 5,000-digit number, or nested past the stack
        return text.strip() or None
    return message_of(data) or text.strip() or None


def message_of(data: Any) -> str | None:
    """The str message in a parsed error body, looked for only where providers put it."""
    error = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(error, str):
        return error
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message.strip() else None


def model_ids(values: Iterable[Any], prefix: str = "", *, redactor: Redactor | None = None) -> list[str]:
    """The model ids among a provider's `values`, as `name:model` takes them: strings only, `prefix` removed
    ("models/" for Gemini), printable with no spaces, at most `MAX_NAME_CHARS`, holding nothing `redactor`
    masks (a key); de-duplicated, sorted, and at most `MAX_MODELS` of them. Anything else is dropped; never
    raises, whatever `values` yields."""
    ids: set[str] = set()
    for value in islice(values, MAX_MODEL_ENTRIES):
        if isinstance(value, str) and prefix and value.startswith(prefix):
            value = value[len(prefix) :]
        name = plain(value) if redactor is None else name_of(value, redactor)
        if name is not None and not any(char.isspace() for char in name):
            ids.add(name)
    return sorted(ids)[:MAX_MODELS]


def usage_of(input_tokens: Any, output_tokens: Any, *, cached: Any, reasoning: Any, cost: Any = None) -> Usage | None:
    """The usage a provider reported, each figure cleaned: a part larger than its whole (cached tokens
    than the input, reasoning than the output) is no count. None when the provider said nothing usable."""
    inputs, outputs = token_count(input_tokens), token_count(output_tokens)
    cached_tokens, reasoning_tokens = token_count(cached), token_count(reasoning)
    if cached_tokens is not None and inputs is not None and cached_tokens > inputs:
        cached_tokens = None
    if reasoning_tokens is not None and outputs is not None and reasoning_tokens > outputs:
        reasoning_tokens = None
    usage = Usage(inputs, outputs, cached_tokens, reasoning_tokens, cost_usd(cost))
    return usage if usage != Usage() else None
