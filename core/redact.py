"""Secrets never leave the process in a message: one redactor for log records and tool results.

Every API key the configuration holds is remembered here (for the life of the process, so that a log
line written after shutdown is covered too) and replaced by its masked hint wherever it appears:
in log records, through `RedactingFilter` on the log handlers, and in every tool result, at the tool
boundary. Bearer tokens and Google API-key headers are masked whatever their value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["RedactingFilter", "hint", "redact", "redact_data", "remember_secrets"]

_known: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(x-goog-api-key['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9._-]{8,}"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9._-]{8,}"),
]
MIN_SECRET_CHARS = 6  # shorter "keys" (placeholders like "none") would mask ordinary words


def hint(secret: str) -> str:
    """A masked hint: at most the last 4 characters, never the key."""
    return f"…{secret[-4:]}" if len(secret) >= 16 else "***"


def remember_secrets(secrets: Iterable[str]) -> None:
    """Add keys to the set that is masked everywhere."""
    _known.update(secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS)


def redact(text: str) -> str:
    """`text` with every known key replaced by its hint, and bearer tokens and key headers masked."""
    for secret in sorted(_known, key=len, reverse=True):  # longest first: a key may contain another
        if secret in text:
            text = text.replace(secret, f"[key {hint(secret)}]")
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


def redact_data(value: Any) -> Any:
    """`redact` applied to every string inside JSON-like data."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_data(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Masks secrets in each record's final message (and traceback) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
