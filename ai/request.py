"""What is asked of an AI and what comes back, independent of the provider.

One frozen `Request` travels from the tool that builds it, through the resilient caller, to the client
that translates it for an SDK; the caller reads its time limits (its deadline, made when the tool call came
in, is the one every wait of the call counts against), the client its content.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from core.config.defaults import TEMPERATURE
from core.files.reader import Image
from core.money.prices import UNKNOWN, Price
from core.resilience.deadline import Deadline

__all__ = ["Completion", "Message", "Request", "Usage"]

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One earlier turn of a conversation: what the user said, or what the AI answered."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Request:
    """One question to one AI.

    Attributes:
        prompt: The question (the last user turn).
        history: Earlier turns, oldest first, that the AI sees before `prompt`.
        system: The system prompt, if any.
        temperature: Sampling temperature; None leaves it to the provider.
        max_tokens: Cap on the answer's length; None leaves it to the provider.
        model: The model to ask; None means the AI's configured model.
        timeout: Seconds one attempt may take; None means the AI's configured timeout.
        deadline: When the whole call must end, retries and waiting for a slot included: a running
            `Deadline` (a tool's, made as the call came in, so that what the call waited for before asking
            counts too), or seconds from when the call starts; None means the server's default
            (`ask_deadline_s`).
        images: Images sent with the prompt, as image parts of the last user turn (the caller leaves them
            out for an AI that does not take images).
    """

    prompt: str
    history: tuple[Message, ...] = ()
    system: str | None = None
    temperature: float | None = TEMPERATURE
    max_tokens: int | None = None
    model: str | None = None
    timeout: float | None = None
    deadline: Deadline | float | None = None
    tool: str | None = None  # the tool that asked, the thread it continues, and who asked: for the ledger
    thread_id: str | None = None
    caller: str | None = None
    images: tuple[Image, ...] = ()

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every turn the AI sees, the prompt last; consecutive turns of one role are joined into one
        (providers expect the roles to alternate)."""
        joined: list[Message] = []
        for message in (*self.history, Message("user", self.prompt)):
            if joined and joined[-1].role == message.role:
                joined[-1] = Message(message.role, f"{joined[-1].text}\n\n{message.text}")
            else:
                joined.append(message)
        return tuple(joined)

    def asking(self, prompt: str) -> Request:
        """The same request with another prompt (when each AI is asked its own question)."""
        return replace(self, prompt=prompt)


@dataclass(frozen=True, slots=True)
class Usage:
    """What the provider counted for one answer; None where it did not say.

    The counts are as providers bill them: `cached_tokens` are part of `input_tokens` (read from the
    provider's cache, at a lower price), `reasoning_tokens` part of `output_tokens` (thinking the answer
    does not show; Gemini counts them apart, and they are added in).

    Attributes:
        input_tokens: Tokens of the request, cached ones included.
        output_tokens: Tokens of the answer, reasoning included.
        cached_tokens: Of `input_tokens`, those read from the provider's cache.
        reasoning_tokens: Of `output_tokens`, those spent on reasoning ("thinking").
        cost_usd: What the provider says the call cost, in US dollars (OpenRouter's `usage.cost`).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """An AI's answer: the text plus what the provider told us about it."""

    text: str
    model: str
    usage: Usage | None = None
    finish_reason: str | None = None
    price: Price = UNKNOWN  # what it cost, once the caller has priced it (callers.spending.price_for)
    # Set when a time limit or the size cap cut the streamed answer short: the limit, as its error said it
    # ("the call's deadline_s of 20 s", "the answer size limit of 16 MiB (max_answer_bytes)"); `text` is
    # then what had arrived by then.
    cut_off: str | None = None

    @property
    def partial(self) -> bool:
        """True when this is the start of an answer that a limit cut off (see `cut_off`)."""
        return self.cut_off is not None
