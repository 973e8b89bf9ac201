"""Between our requests/answers/errors and the provider SDKs', for the sync and async clients alike.

Only ai/ imports an SDK, and only inside functions, so that start-up never pays for it.
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
from typing import Any

import pydantic

from ai.body_cap import BodyTooLarge, size_text
from ai.clean import answer_text, body_reason, message_of, model_ids, name_of, token_count, usage_of
from ai.request import Completion, Usage
from core.errors import (
    AnswerTooLarge,
    AuthenticationFailed,
    BadRequest,
    ContentBlocked,
    EmptyResponse,
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
    "GEMINI_BLOCK_REASONS",
    "MODEL_LIST",
    "OWN_PACKAGES",
    "UNREADABLE",
    "ErrorAnswer",
    "answer_of",
    "enum_name",
    "gemini_error",
    "gemini_hook",
    "gemini_usage",
    "openai_error",
    "openai_usage",
    "parse_retry_after",
    "raised_by_a_library",
    "read_gemini",
    "read_gemini_models",
    "read_openai",
    "read_openai_models",
]

# Gemini finish reasons that mean "a filter stopped this", as opposed to a normal or length stop.
GEMINI_BLOCK_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"}
)
# What an error of a model-list request names in the model's place: "grok (model list) (HTTP 500): ...".
MODEL_LIST = "model list"
MAX_REASON_CHARS = 300  # of a provider's error text, the note on a cut included
# Of a long error text, only this head is masked, so that 10 MB cost no more than a short text: more than
# `_clean` reads (a key's 16+ characters become an 11-character hint), and a key cut at its end leaves a
# stub far past what is shown.
_MASKED_CHARS = MAX_REASON_CHARS * 8
_WORD = re.compile(r"\S+")
logger = logging.getLogger("junior_ai.translate")


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


def _clean(reason: str, redactor: Redactor) -> str:
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


def _status_error(ai: str, model: str, status: int, reason: str, headers: Mapping[str, str] | None) -> ProviderError:
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


# -- OpenAI-compatible ----------------------------------------------------------------------------


def read_openai(ai: str, model: str, response: Any, redactor: Redactor) -> Completion:
    """Text and usage from a ChatCompletion, each field checked: the openai SDK builds it from any JSON
    without validation (a list, a str for an HTML page, fields of any type). The text and names are
    masked with `redactor` (see ai.clean).

    Raises:
        ContentBlocked: the provider's content filter stopped the answer.
        EmptyResponse: no choice, or a choice with no text.
        InvalidResponse: the answer does not have a ChatCompletion's shape.
    """
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list):
        raise InvalidResponse(ai, model, f"the answer is not a chat completion ({_shape(response, choices)})")
    if not choices:
        raise EmptyResponse(ai, model, "the provider returned no choices")
    finish = name_of(getattr(choices[0], "finish_reason", None), redactor)
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if finish == "content_filter":
        raise ContentBlocked(ai, model, "the provider's content filter stopped the answer")
    if text is not None and not isinstance(text, str):
        raise InvalidResponse(ai, model, f"the answer's text is a {type(text).__name__}, not a string")
    if not text or not text.strip():
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={finish})")
    return Completion(
        text=answer_text(text, redactor),
        model=name_of(getattr(response, "model", None), redactor) or model,
        usage=openai_usage(getattr(response, "usage", None)),
        finish_reason=finish,
    )


def openai_usage(usage: Any) -> Usage | None:
    """An OpenAI-compatible `usage`, whatever its shape: the SDK keeps fields it does not know (OpenRouter's
    `cost`) and builds the known ones without checking them (a details object may be a str or a list)."""
    return usage_of(
        _field(usage, "prompt_tokens"),
        _field(usage, "completion_tokens"),
        cached=_field(_field(usage, "prompt_tokens_details"), "cached_tokens"),
        reasoning=_field(_field(usage, "completion_tokens_details"), "reasoning_tokens"),
        cost=_field(usage, "cost"),
    )


def read_openai_models(ai: str, page: Any, redactor: Redactor) -> list[str]:
    """The model ids of a `/models` answer (`{"object": "list", "data": [{"id": ...}, ...]}`), cleaned: the
    SDK builds the page from any JSON without validation, so each entry may be anything.

    Raises:
        InvalidResponse: the answer is not a model list.
    """
    data = getattr(page, "data", None)
    if not isinstance(data, list):
        raise InvalidResponse(ai, MODEL_LIST, f"the answer is not a model list ({_shape_of(page, 'data', data)})")
    return model_ids((_field(item, "id") for item in data), redactor=redactor)


def openai_error(ai: str, model: str, error: BaseException, redactor: Redactor) -> ProviderError | None:
    """Our error for an exception the openai SDK raised, or None when it is not the provider's doing."""
    import httpx2
    import openai

    if isinstance(error, openai.APIStatusError):
        # The SDK keeps the body as it came: a dict, a list, an HTML page's text, nested to any depth.
        body = error.body
        reason = message_of(body) or (body if isinstance(body, str) else None) or error.message
        return _status_error(ai, model, error.status_code, _clean(reason, redactor), error.response.headers)
    if isinstance(error, openai.APITimeoutError):
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        detail = f" ({type(cause).__name__})" if cause else ""
        return ProviderUnreachable(ai, model, f"connection failed{detail}")
    if isinstance(error, (openai.APIResponseValidationError, json.JSONDecodeError, pydantic.ValidationError)):
        return InvalidResponse(ai, model, _clean(f"unreadable answer: {error}", redactor))
    if isinstance(error, httpx2.TimeoutException):  # reading a body the SDK did not (a stream request's JSON)
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, httpx2.TransportError):
        return ProviderUnreachable(ai, model, f"connection failed ({type(error).__name__})")
    if isinstance(error, openai.APIError):  # an {"error": ...} event in a stream: the provider gave up mid-answer
        reason = message_of({"error": error.body}) or "no reason given"
        return ProviderServerError(ai, model, _clean(f"the provider stopped the stream: {reason}", redactor), None)
    return None


# -- Gemini ---------------------------------------------------------------------------------------


class ErrorAnswer(Exception):
    """An HTTP error answer from Gemini, read by us before google-genai parses it (it would raise a bare
    RecursionError, ValueError or UnicodeDecodeError for some bodies, and lose the status)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str]) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        super().__init__(f"HTTP {status}")


def _error_answer(response: Any) -> ErrorAnswer:
    reason = body_reason(response.content) or str(response.reason_phrase or "")
    return ErrorAnswer(response.status_code, reason, response.headers)


def gemini_hook(asynchronous: bool) -> Callable[[Any], Any]:
    """An httpx response hook for google-genai's HTTP clients that turns an error answer into `ErrorAnswer`."""

    # Not 200 is an error answer (google-genai's own test). Only those are read here (up to the cap: the
    # hook of ai.body_cap runs first): a good answer may be a stream, which google-genai reads as it arrives.
    def check(response: Any) -> None:
        if response.status_code != 200:
            response.read()
            raise _error_answer(response)

    async def acheck(response: Any) -> None:
        if response.status_code != 200:
            await response.aread()
            raise _error_answer(response)

    return acheck if asynchronous else check


def read_gemini(ai: str, model: str, response: Any, redactor: Redactor) -> Completion:
    """Text and usage from a GenerateContentResponse (google-genai has validated the types; the values
    are still the provider's: the text and names are masked with `redactor`, see ai.clean).

    Raises:
        ContentBlocked: the prompt or the answer was blocked by a safety filter.
        EmptyResponse: no candidate, or a candidate with no text.
        InvalidResponse: the answer has no candidates at all (not JSON object, or not Gemini's).
    """
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise ContentBlocked(ai, model, f"the prompt was blocked ({enum_name(feedback.block_reason)})")
    candidates = response.candidates
    if candidates is None:
        raise InvalidResponse(ai, model, "the answer is not a generateContent response (no candidates)")
    if not candidates:
        raise EmptyResponse(ai, model, "the provider returned no candidates")
    if candidates[0].content is None and candidates[0].finish_reason is None:
        # What google-genai makes of a candidate that is not an object ("candidates": "x"): no answer.
        raise InvalidResponse(ai, model, "the answer is not a generateContent response (an empty candidate)")
    finish = name_of(enum_name(candidates[0].finish_reason), redactor) if candidates[0].finish_reason else None
    text = response.text
    if not isinstance(text, str) or not text.strip():
        if finish in GEMINI_BLOCK_REASONS:
            raise ContentBlocked(ai, model, f"the answer was blocked ({finish})")
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={finish})")
    return Completion(
        text=answer_text(text, redactor),
        model=name_of(response.model_version, redactor) or model,
        usage=gemini_usage(response.usage_metadata),
        finish_reason=finish,
    )


def gemini_usage(usage: Any) -> Usage | None:
    """Gemini's `usage_metadata` (google-genai has checked that each count is an int): the thinking tokens,
    which Gemini counts apart from the answer's and bills as output, are added to the output."""
    answer = token_count(getattr(usage, "candidates_token_count", None))
    thoughts = token_count(getattr(usage, "thoughts_token_count", None))
    output = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    return usage_of(
        getattr(usage, "prompt_token_count", None),
        output,
        cached=getattr(usage, "cached_content_token_count", None),
        reasoning=thoughts,
    )


def read_gemini_models(ai: str, models: list[Any], redactor: Redactor) -> list[str]:
    """The ids of the models a `models.list` answer names ("models/gemini-2.5-pro" → "gemini-2.5-pro"),
    cleaned; only those that can generate content, when the provider says what each supports (an
    embedding model cannot be asked)."""
    usable = (
        model
        for model in models
        if not isinstance(actions := getattr(model, "supported_actions", None), list) or "generateContent" in actions
    )
    return model_ids((getattr(model, "name", None) for model in usable), prefix="models/", redactor=redactor)


def gemini_error(ai: str, model: str, error: BaseException, redactor: Redactor) -> ProviderError | None:
    """Our error for an exception google-genai (or its HTTP client) raised, or None if not the provider's."""
    import httpx2
    from google.genai import errors

    if isinstance(error, ErrorAnswer):
        return _status_error(ai, model, error.status, _clean(error.reason, redactor), error.headers)
    if isinstance(error, errors.APIError):
        reason = next((v for v in (error.message, error.status) if isinstance(v, str) and v.strip()), "")
        headers = error.response.headers if getattr(error, "response", None) is not None else None
        return _status_error(ai, model, error.code, _clean(reason, redactor), headers)
    if isinstance(error, httpx2.TimeoutException):
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, httpx2.TransportError):
        return ProviderUnreachable(ai, model, f"connection failed ({type(error).__name__})")
    if isinstance(error, (json.JSONDecodeError, pydantic.ValidationError)):
        return InvalidResponse(ai, model, _clean(f"unreadable answer: {error}", redactor))
    return None


def _shape(response: Any, choices: Any) -> str:
    if choices is None:
        return f"a {type(response).__name__} without choices"
    return f"choices is a {type(choices).__name__}"


def _field(item: Any, name: str) -> Any:
    """`item[name]` of a dict, else the attribute (None when there is neither)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _shape_of(response: Any, name: str, value: Any) -> str:
    if value is None:
        return f"a {type(response).__name__} without {name}"
    return f"{name} is a {type(value).__name__}"


def enum_name(value: Any) -> str:
    return str(getattr(value, "value", value))
