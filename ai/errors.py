"""From a provider's failure to our typed error (core.errors), for every wire format alike: the status of
an error answer, its reason made fit to show, and the region around sending a request and reading its
answer, where whatever is raised becomes a `ProviderError` of this AI (`answer_of`).

Each wire module (ai.openai_compat, ai.gemini) maps its own SDK's exceptions (a `Translate`) and leaves
the rest to these functions.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pydantic

from ai.body_cap import BodyTooLarge, size_text
from core.errors import (
    AnswerTooLarge,
    AuthenticationFailed,
    BadRequest,
    InternalError,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    Redirected,
)
from core.redact import Redactor, safe_origin

__all__ = [
    "MAX_REASON_CHARS",
    "MODEL_LIST",
    "OWN_PACKAGES",
    "UNREADABLE",
    "Translate",
    "answer_of",
    "clean_reason",
    "parse_retry_after",
    "raised_by_a_library",
    "status_error",
    "transport_error",
]

# What an error of a model-list request names in the model's place: "grok (model list) (HTTP 500): ...".
MODEL_LIST = "model list"
MAX_REASON_CHARS = 300  # of a provider's error text, the note on a cut included
# Of a long error text, only this head is masked, so that 10 MB cost no more than a short text: more than
# `clean_reason` reads (a key's 16+ characters become an 11-character hint), and a key cut at its end leaves a
# stub far past what is shown.
_MASKED_CHARS = MAX_REASON_CHARS * 8
_WORD = re.compile(r"\S+")
logger = logging.getLogger("junior_ai.errors")


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the provider asks us to wait, from `retry-after-ms` or `retry-after` (seconds or a date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def clean_reason(reason: str, redactor: Redactor) -> str:
    """A provider's error text made fit to show: every known key masked (its own, another AI's), one line,
    printable, at most 300 characters. A longer one is cut after a whole word, with a note of how much was
    left out (only a single word longer than the room is cut inside itself)."""
    # Keys are masked before cutting, so that no part of one survives as a short stub.
    masked = redactor.redact(reason[:_MASKED_CHARS])
    if len(reason) > _MASKED_CHARS:  # a long message's tail is never read, unless masking shrank its head a lot
        masked = masked + reason[_MASKED_CHARS:] if len(masked) >= MAX_REASON_CHARS * 4 else redactor.redact(reason)
    reason = masked
    # Only the head is read, so that a 10 MB message costs no more than a short one; the per-character
    # pass keeps every index, so a position in `head` is one in `reason`.
    head = "".join(char if char.isprintable() else " " for char in reason[: MAX_REASON_CHARS * 4])
    line = " ".join(head.split())
    if len(reason) <= len(head) and len(line) <= MAX_REASON_CHARS:
        return line or "no reason given"
    room = MAX_REASON_CHARS - len(_cut_note(len(reason)))  # the note's longest: the note fits too
    kept: list[str] = []
    size = end = 0
    for word in _WORD.finditer(head):
        size += len(word[0]) + (1 if kept else 0)
        if size > room:
            if not kept:  # one word longer than the room: cut it, or nothing at all would show
                kept, end = [word[0][:room]], word.start() + room
            break
        kept.append(word[0])
        end = word.end()
    return " ".join(kept) + _cut_note(len(reason) - end) if kept else "no reason given"


def _cut_note(left_out: int) -> str:
    return f" … [cut: {left_out:,} more characters]"


def status_error(ai: str, model: str, status: int, reason: str, headers: Mapping[str, str] | None) -> ProviderError:
    if 300 <= status < 400:
        location = (headers or {}).get("location")
        origin = safe_origin(location) if location else None
        if origin:
            where = origin
        elif location:
            where = "a relative or unreadable address" if len(location) < 2000 else "an overlong address"
        else:
            where = "nowhere (no Location header)"
        return Redirected(
            ai,
            model,
            f"the provider redirected to {where}; redirects are not followed, so that the key is not sent "
            "elsewhere (if the new address is right, set base_url to it)",
            status,
            location=where,
        )
    if status == 429:
        return RateLimited(ai, model, reason, status, retry_after=parse_retry_after(headers))
    if status in (401, 403):
        return AuthenticationFailed(ai, model, reason, status)
    if status == 404:
        return ModelNotFound(ai, model, reason, status)
    if status in (400, 422):
        return BadRequest(ai, model, reason, status)
    if status >= 500:
        return ProviderServerError(ai, model, reason, status)
    return ProviderError(ai, model, reason, status)


def transport_error(ai: str, model: str, error: BaseException, redactor: Redactor) -> ProviderError | None:
    """Our error for what the HTTP client under either SDK, or reading a body as JSON, raised; None if neither."""
    import httpx2

    if isinstance(error, httpx2.TimeoutException):
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, httpx2.TransportError):
        return ProviderUnreachable(ai, model, f"connection failed ({type(error).__name__})")
    if isinstance(error, (json.JSONDecodeError, pydantic.ValidationError)):
        return InvalidResponse(ai, model, clean_reason(f"unreadable answer: {error}", redactor))
    return None


# -- Where an answer enters -----------------------------------------------------------------------


# An SDK's exception → our error (ai, model, the exception, the keys to hide), or None when it names nothing.
Translate = Callable[[str, str, BaseException, Redactor], ProviderError | None]


# What reading an unreadable body raises when the SDK does not name it (its JSON reading: a RecursionError
# for one nested too deep, a ValueError or UnicodeDecodeError for one that is not JSON or not UTF-8).
UNREADABLE = (RecursionError, ValueError)
# This project's own top-level packages and modules: code of theirs is ours, even installed in site-packages.
OWN_PACKAGES = frozenset({"ai", "callers", "collab", "core", "tools", "server", "check"})


@contextmanager
def answer_of(ai: str, model: str, redactor: Redactor, translate: Translate) -> Iterator[None]:
    """Around sending a request and reading its answer: whatever is raised in here becomes a typed
    `ProviderError` for this AI. The request was built before (so it has been sent, or the SDK failed in
    a way that its sync twin would repeat), and an answer that arrived is never sent again.

    A failure the SDK does not name is an `InvalidResponse`, retried like any unreadable answer, when it
    is a parse error (`UNREADABLE`: a RecursionError, a ValueError, a UnicodeDecodeError in its JSON
    reading) or when the SDK's own code raised it reading the answer (`raised_by_a_library`: google-genai
    meeting a finish reason that is an object). Anything else (a TypeError, an AttributeError... in our
    readers) is a bug of ours, not the provider's: logged with its traceback and raised as an
    `InternalError`, which is never retried. A whole answer longer than the cap
    (ai.body_cap) is an `AnswerTooLarge`, whichever SDK read it.

    Raises:
        ProviderError: for every exception raised inside (cancellation passes through unchanged).
    """
    try:
        yield
    except ProviderError:
        raise
    except BodyTooLarge as cut:
        raise AnswerTooLarge(
            ai,
            model,
            f"the answer is longer than {size_text(cut.limit)} (max_answer_bytes): reading stopped there, and "
            "an answer cut short cannot be read; ask for a shorter one (max_tokens), or raise max_answer_bytes",
        ) from cut
    except Exception as error:  # everything here belongs to the answer; the SDKs' own are mapped first
        mapped = translate(ai, model, error, redactor)
        if mapped is None and (isinstance(error, UNREADABLE) or raised_by_a_library(error)):
            logger.debug("%s: unreadable answer", ai, exc_info=True)
            mapped = InvalidResponse(ai, model, f"unreadable answer ({type(error).__name__})")
        elif mapped is None:
            logger.exception("%s: internal error while reading the answer", ai)
            mapped = InternalError(
                ai, model, f"internal error while reading the answer ({type(error).__name__}); see the server log"
            )
        raise mapped from error


def raised_by_a_library(error: BaseException) -> bool:
    """Whether `error` was raised in an installed library's code (an SDK reading the answer), not in ours:
    the innermost frame that is not the standard library's decides (what a library called it with, or what
    we did). A library's code lives in a site-packages (or dist-packages) directory; ours may too, when
    installed, and is told apart by its package (`OWN_PACKAGES`)."""
    for frame, _ in reversed(list(traceback.walk_tb(error.__traceback__))):
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if package in sys.stdlib_module_names:
            continue
        installed = {"site-packages", "dist-packages"} & set(Path(frame.f_code.co_filename).parts)
        return bool(installed) and package not in OWN_PACKAGES
    return False
