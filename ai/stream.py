"""Streamed answers: what has arrived so far (`Received`), whichever wire format brought it (each wire
module, ai.openai_compat and ai.gemini, reads its SDK's stream into it).

    received = Received(on_tokens=report)          # the caller makes one per attempt
    completion = await client.ask(request, timeout, received)
    # a time limit cut the stream: received.cut_short(model, reason, redactor) is the answer so far, or None

Every chunk is the provider's, so untrusted: the wire modules check each field before it lands here.
The text is masked (every known key:
see ai.clean) once it is whole or cut short, so that a key split across chunks is masked too. While the
answer streams, its tokens are estimated from its characters (`CHARS_PER_TOKEN`): providers report their
own count only at the end, and then that count is used.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from ai.body_cap import BodyTooLarge
from ai.clean import answer_text
from ai.request import Completion, Usage
from core.redact import Redactor

__all__ = ["CHARS_PER_TOKEN", "OnTokens", "Received", "kept_at_cap"]

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


async def kept_at_cap(reading: Awaitable[Completion], received: Received, model: str, redactor: Redactor) -> Completion:
    """The streamed answer that `reading` reads into `received`; when it went past the cap (ai.body_cap),
    the text that had arrived, as an answer cut short by the cap.

    Raises:
        BodyTooLarge: the answer went past the cap before any text arrived (an `AnswerTooLarge` error).
    """
    try:
        return await reading
    except BodyTooLarge as cut:
        partial = received.cut_short(model, cut.limit_text, redactor)
        if partial is None:
            raise
        return partial
