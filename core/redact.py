"""Secrets never leave the process in a message: one redactor for log records and everything we send.

Every API key the configuration holds is remembered here (for the life of the process, so that a log
line written after shutdown is covered too) and replaced by its masked hint wherever it appears: in
log records, through `RedactingFilter` on the log handlers, and in every result the server sends,
through the MCP middleware at the tool boundary. Validation messages never echo the rejected value
(pydantic may shorten a long value, and a shortened key would not match). Log records are also
cleared of anything that looks like a bearer token or an API-key header, whatever its value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["RedactingFilter", "clean", "clean_data", "encodable", "hint", "redact", "redact_log", "remember_secrets"]

_known: set[str] = set()
# A rejected value, as pydantic's validation messages echo it: "[type=..., input_value=..., input_type=...]".
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=)|input_value=\S+")
# Token-like values (long, with a digit) after the names credentials go by: for log records only, where
# a library may print a header; answers are left alone, since code and prose use these words too.
_CREDENTIALS = re.compile(
    r"(?i)((?:bearer\s+|x-goog-api-key['\"]?\s*[:=]\s*['\"]?|api[_-]?key['\"]?\s*[:=]\s*['\"]?))"
    r"(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{20,}"
)
MIN_SECRET_CHARS = 16  # real keys are longer; shorter placeholders ("ollama") would mask ordinary words


def hint(secret: str) -> str:
    """A masked hint: at most the last 4 characters, never the key."""
    return f"…{secret[-4:]}" if len(secret) >= 16 else "***"


def remember_secrets(secrets: Iterable[str]) -> None:
    """Add keys to the set that is masked everywhere."""
    _known.update(secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS)


def redact(text: str) -> str:
    """`text` with every known key replaced by its hint, and no echoed validation input."""
    for secret in sorted(_known, key=len, reverse=True):  # longest first: a key may contain another
        if secret in text:
            text = text.replace(secret, f"[key {hint(secret)}]")
    if "input_value=" in text:
        text = _INPUT_VALUE.sub("input_value=<hidden>", text)
    return text


def encodable(text: str) -> str:
    """`text` with each lone surrogate (valid JSON from a provider, deadly to a JSON writer) replaced by
    U+FFFD; a surrogate pair that stands for one character becomes that character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def clean(text: str) -> str:
    """What every text leaving the server becomes: encodable, and with no known key in it."""
    return redact(encodable(text))


def clean_data(value: Any) -> Any:
    """`clean` applied to every string (keys included) inside JSON-like data."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_data(key): clean_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(item) for item in value]
    return value


def redact_log(text: str) -> str:
    """`clean`, plus anything that looks like a credential."""
    return _CREDENTIALS.sub(r"\1[redacted]", clean(text))


class RedactingFilter(logging.Filter):
    """Masks secrets in each record's final message (and traceback) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to the handler, which reports it safely
            return True
        cleaned = redact_log(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
