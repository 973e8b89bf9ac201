"""Streamed answers: what has arrived so far (`Received`), and reading each SDK's stream into it.

    received = Received(on_tokens=report)          # the caller makes one per attempt
    completion = await client.send(request, timeout, received)
    # a time limit cut the stream: received.cut_short(model, reason, redactor) is the answer so far, or None

Every chunk is the provider's, so untrusted: an OpenAI chunk is raw JSON (any value at all), a Gemini
chunk a `GenerateContentResponse` google-genai has type-checked; each field is checked here before it is
used, and anything unusable ends as a typed error, never a crash. The text is masked (every known key:
see ai.clean) once it is whole or cut short, so that a key split across chunks is masked too. While the
answer streams, its tokens are estimated from its characters (`CHARS_PER_TOKEN`): providers report their
own count only at the end, and then that count is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from ai.clean import answer_text, name_of
from ai.request import Completion, Usage
from ai.translate import GEMINI_BLOCK_REASONS, enum_name, gemini_usage, openai_usage
from core.errors import ContentBlocked, EmptyResponse, InvalidResponse
from core.redact import Redactor

__all__ = [
    "CHARS_PER_TOKEN",
    "OnTokens",
    "Received",
    "is_event_stream",
    "openai_json",
    "read_gemini_stream",
    "read_openai_stream",
]

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text and code, all the providers' tokenizers alike
# Told the tokens received so far, after each chunk that brought text (the listener throttles itself).
OnTokens = Callable[[int], Awaitable[None]]


class Received:
    """One streamed answer as it arrives: its text so far, what the provider said about it, and its
    tokens (the provider's count once it gave one, else estimated from the characters).

    Attributes:
        sent: The request was handed to the SDK to send (the client sets it once it is ready to): from
            then on the provider may bill it, however the call ends.
        chars: Characters of text received.
        model: The model the provider named, once it did.
        usage: The provider's last usage report, if any.
        finish_reason: Why the provider says the answer ended, once it did.
    """

    def __init__(self, on_tokens: OnTokens | None = None) -> None:
        self._parts: list[str] = []
        self._on_tokens = on_tokens
        self.sent = False
        self.chars = 0
        self.model: str | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None

    @property
    def text(self) -> str:
        """The text received so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]  # joined once, however often it is read
        return self._parts[0] if self._parts else ""

    @property
    def tokens(self) -> int:
        """Tokens received: the provider's count when it gave one, else the characters / `CHARS_PER_TOKEN`."""
        counted = self.usage.output_tokens if self.usage is not None else None
        return counted if counted is not None else math.ceil(self.chars / CHARS_PER_TOKEN)

    async def add(self, text: str) -> None:
        """One more piece of the answer's text (the listener hears the new token count)."""
        if not text:
            return
        self._parts.append(text)
        self.chars += len(text)
        if self._on_tokens is not None:
            await self._on_tokens(self.tokens)

    def completion(self, model: str, redactor: Redactor) -> Completion:
        """The whole answer, `model` being the one asked (used when the provider named none), its text
        masked with `redactor`."""
        return Completion(
            text=answer_text(self.text, redactor),
            model=self.model or model,
            usage=self.usage,
            finish_reason=self.finish_reason,
        )

    def cut_short(self, model: str, reason: str, redactor: Redactor) -> Completion | None:
        """The answer so far, marked as cut off by the limit `reason` names, its text masked with `redactor`;
        None when no text arrived (whitespace is no answer)."""
        if not self.text.strip():
            return None
        text = answer_text(self.text, redactor)
        return Completion(text=text, model=self.model or model, usage=self.usage, finish_reason=None, cut_off=reason)


# -- OpenAI-compatible ----------------------------------------------------------------------------


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """Whether an answer is a server-sent event stream (what `stream: true` asks for), by its content type."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower() == "text/event-stream"


def openai_json(body: bytes) -> Any:
    """An answer that came as one JSON document where a stream was asked for (a proxy that does not stream),
    built as the SDK builds a ChatCompletion (without validation: `read_openai` checks it).

    Raises:
        ValueError: (json.JSONDecodeError, UnicodeDecodeError) the body is not JSON.
        RecursionError: the JSON is nested past the stack.
    """
    from openai.types.chat import ChatCompletion

    data = json.loads(body)
    return ChatCompletion.construct(**data) if isinstance(data, dict) else data


async def read_openai_stream(
    ai: str, model: str, chunks: AsyncIterator[Any], received: Received, redactor: Redactor
) -> Completion:
    """Read a chat-completion stream (`stream: true`) to its end, into `received`. Each chunk is raw JSON:
    `{"choices": [{"delta": {"content": "..."}, "finish_reason": null}], "model": ...}`; the last may carry
    only `usage` (`stream_options.include_usage`). A chunk without choices is skipped.

    Raises:
        InvalidResponse: a chunk does not have a chat-completion chunk's shape.
        ContentBlocked: the provider's content filter stopped the answer.
        EmptyResponse: the stream ended with no text.
    """
    async for chunk in chunks:
        if not isinstance(chunk, dict):
            raise InvalidResponse(ai, model, f"a stream chunk is a {type(chunk).__name__}, not a JSON object")
        received.model = received.model or name_of(chunk.get("model"), redactor)
        if chunk.get("usage") is not None:
            received.usage = openai_usage(chunk["usage"]) or received.usage
        choices = chunk.get("choices")
        if choices is None or choices == []:
            continue  # a usage chunk, or a provider's keep-alive
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise InvalidResponse(ai, model, "a stream chunk's choices are not a list of objects")
        choice = choices[0]
        received.finish_reason = name_of(choice.get("finish_reason"), redactor) or received.finish_reason
        delta = choice.get("delta", choice.get("message"))  # a whole message: a proxy's one-chunk stream
        text = delta.get("content") if isinstance(delta, dict) else None
        if text is not None and not isinstance(text, str):
            raise InvalidResponse(ai, model, f"a stream chunk's text is a {type(text).__name__}, not a string")
        if text:
            await received.add(text)
    if received.finish_reason == "content_filter":
        raise ContentBlocked(ai, model, "the provider's content filter stopped the answer")
    if not received.text.strip():
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={received.finish_reason})")
    return received.completion(model, redactor)


# -- Gemini ---------------------------------------------------------------------------------------


async def read_gemini_stream(
    ai: str, model: str, chunks: AsyncIterator[Any], received: Received, redactor: Redactor
) -> Completion:
    """Read a `streamGenerateContent` stream to its end, into `received`: each chunk a GenerateContentResponse
    carrying the next piece of text; the usage of the last one that carries any is kept.

    Raises:
        ContentBlocked: the prompt or the answer was blocked by a safety filter.
        InvalidResponse: no chunk had a list of candidates (not Gemini's answer).
        EmptyResponse: the stream ended with no text.
    """
    answered = False  # some chunk had a candidates list: the stream is Gemini's
    candidates = False  # and some list was not empty
    async for chunk in chunks:
        feedback = chunk.prompt_feedback
        if feedback is not None and feedback.block_reason:
            raise ContentBlocked(ai, model, f"the prompt was blocked ({enum_name(feedback.block_reason)})")
        received.model = received.model or name_of(chunk.model_version, redactor)
        if chunk.usage_metadata is not None:
            received.usage = gemini_usage(chunk.usage_metadata) or received.usage
        if chunk.candidates is None:
            continue  # a usage-only chunk
        candidate = chunk.candidates[0] if chunk.candidates else None
        if candidate is not None and candidate.content is None and candidate.finish_reason is None:
            continue  # what google-genai makes of a candidate that is not an object: no answer
        answered = True
        if candidate is None:
            continue  # no candidates: an empty answer, unless a later chunk has some
        candidates = True
        if candidate.finish_reason:
            received.finish_reason = name_of(enum_name(candidate.finish_reason), redactor)
        text = chunk.text
        if isinstance(text, str):
            await received.add(text)
    if not received.text.strip():
        if not answered:
            raise InvalidResponse(ai, model, "the answer is not a generateContent stream (no candidates)")
        if not candidates:
            raise EmptyResponse(ai, model, "the provider returned no candidates")
        if received.finish_reason in GEMINI_BLOCK_REASONS:
            raise ContentBlocked(ai, model, f"the answer was blocked ({received.finish_reason})")
        raise EmptyResponse(ai, model, f"the answer had no text (finish_reason={received.finish_reason})")
    return received.completion(model, redactor)
