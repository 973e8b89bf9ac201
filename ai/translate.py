"""Between our requests/answers/errors and the provider SDKs', for the sync and async clients alike.

Only ai/ imports an SDK, and only inside functions, so that start-up never pays for it.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from core.defaults import TEMPERATURE
from core.errors import (
    AuthenticationFailed,
    BadRequest,
    ContentBlocked,
    EmptyResponse,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    Redirected,
)
from core.redact import encodable, safe_origin

__all__ = [
    "Completion",
    "Prompt",
    "Usage",
    "gemini_error",
    "openai_error",
    "parse_retry_after",
    "read_gemini",
    "read_openai",
]

# Gemini finish reasons that mean "a filter stopped this", as opposed to a normal or length stop.
GEMINI_BLOCK_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"}
)
MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class Prompt:
    """One request to an AI, independent of the provider."""

    text: str
    system: str | None = None
    temperature: float | None = TEMPERATURE
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """An AI's answer: the text plus what the provider told us about it."""

    text: str
    model: str
    usage: Usage | None = None
    finish_reason: str | None = None


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


def _clean(reason: str, secret: str | None) -> str:
    if secret:
        reason = reason.replace(secret, "***")  # before cutting, so that no part of the key survives
    return " ".join(reason.split())[:MAX_REASON_CHARS] or "no reason given"


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


# -- OpenAI-compatible ----------------------------------------------------------------------------


# What reading an answer of the wrong shape raises: the SDKs accept any JSON object leniently.
SHAPE_ERRORS = (AttributeError, TypeError, IndexError, KeyError)


def _shape_checked(read: Callable[[str, str, Any], Completion], ai: str, model: str, response: Any) -> Completion:
    try:
        return read(ai, model, response)
    except SHAPE_ERRORS as error:
        raise InvalidResponse(ai, model, f"unexpected answer shape ({type(error).__name__})") from error


def read_openai(ai: str, model: str, response: Any) -> Completion:
    """Text and usage from a ChatCompletion.

    Raises:
        ContentBlocked: the provider's content filter stopped the answer.
        EmptyResponse: no choice, or a choice with no text.
        InvalidResponse: the answer does not have a ChatCompletion's shape.
    """
    return _shape_checked(_read_openai, ai, model, response)


def _read_openai(ai: str, model: str, response: Any) -> Completion:
    choices = getattr(response, "choices", None)
    if not choices:
        raise EmptyResponse(ai, model, "the provider returned no choices")
    choice = choices[0]
    text = choice.message.content if choice.message else None
    if choice.finish_reason == "content_filter":
        raise ContentBlocked(ai, model, "the provider's content filter stopped the answer")
    if not isinstance(text, str) or not text.strip():
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={choice.finish_reason})")
    usage = response.usage
    return Completion(
        text=encodable(text),  # a lone surrogate would break the next prompt (a debate round) and the wire
        model=getattr(response, "model", None) or model,
        usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else None,
        finish_reason=choice.finish_reason,
    )


def openai_error(ai: str, model: str, error: BaseException, secret: str | None) -> ProviderError | None:
    """Our error for an exception the openai SDK raised, or None when it is not the provider's doing."""
    import openai

    if isinstance(error, openai.APIStatusError):
        body = error.body
        message = body.get("message") if isinstance(body, dict) else None
        reason = _clean(str(message or error.message), secret)
        return _status_error(ai, model, error.status_code, reason, error.response.headers)
    if isinstance(error, openai.APITimeoutError):
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        detail = f" ({type(cause).__name__})" if cause else ""
        return ProviderUnreachable(ai, model, f"connection failed{detail}")
    if isinstance(error, (openai.APIResponseValidationError, json.JSONDecodeError, pydantic.ValidationError)):
        return InvalidResponse(ai, model, _clean(f"unreadable answer: {error}", secret))
    return None


# -- Gemini ---------------------------------------------------------------------------------------


def read_gemini(ai: str, model: str, response: Any) -> Completion:
    """Text and usage from a GenerateContentResponse.

    Raises:
        ContentBlocked: the prompt or the answer was blocked by a safety filter.
        EmptyResponse: no candidate, or a candidate with no text.
        InvalidResponse: the answer does not have a GenerateContentResponse's shape.
    """
    return _shape_checked(_read_gemini, ai, model, response)


def _read_gemini(ai: str, model: str, response: Any) -> Completion:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise ContentBlocked(ai, model, f"the prompt was blocked ({_enum_name(feedback.block_reason)})")
    candidates = response.candidates or []
    if not candidates:
        raise EmptyResponse(ai, model, "the provider returned no candidates")
    finish = _enum_name(candidates[0].finish_reason) if candidates[0].finish_reason else None
    text = response.text
    if not text or not text.strip():
        if finish in GEMINI_BLOCK_REASONS:
            raise ContentBlocked(ai, model, f"the answer was blocked ({finish})")
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={finish})")
    usage = response.usage_metadata
    return Completion(
        text=encodable(text),  # a lone surrogate would break the next prompt (a debate round) and the wire
        model=getattr(response, "model_version", None) or model,
        usage=Usage(usage.prompt_token_count, usage.candidates_token_count) if usage else None,
        finish_reason=finish,
    )


def gemini_error(ai: str, model: str, error: BaseException, secret: str | None) -> ProviderError | None:
    """Our error for an exception google-genai (or its HTTP client) raised, or None if not the provider's."""
    import httpx2
    from google.genai import errors

    if isinstance(error, errors.APIError):
        reason = _clean(str(error.message or error.status or error), secret)
        headers = error.response.headers if getattr(error, "response", None) is not None else None
        return _status_error(ai, model, error.code, reason, headers)
    if isinstance(error, httpx2.TimeoutException):
        return ProviderTimeout(ai, model, "the request timed out")
    if isinstance(error, httpx2.TransportError):
        return ProviderUnreachable(ai, model, f"connection failed ({type(error).__name__})")
    if isinstance(error, (json.JSONDecodeError, pydantic.ValidationError)):
        return InvalidResponse(ai, model, _clean(f"unreadable answer: {error}", secret))
    return None


def _enum_name(value: Any) -> str:
    return str(getattr(value, "value", value))
