"""The fake provider's streamed answers: server-sent events of either API's chunks, sent with a pause
between them, or broken off part-way."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

__all__ = ["EventStream", "gemini_events", "openai_events", "pieces"]


def pieces(text: str, words: int) -> list[str]:
    """`text` in pieces of `words` words each (a word with the space after it); joined, they are `text`."""
    split = re.split(r"(?<=\s)(?=\S)", text)
    return ["".join(split[i : i + words]) for i in range(0, len(split), max(1, words))] if text else []


def openai_events(model: str, texts: list[str], finish: str, usage: dict[str, Any] | None) -> list[bytes]:
    """An OpenAI chat-completion stream: a role chunk, a chunk per text, one with the finish reason, the
    usage in a chunk of its own (when given: `stream_options.include_usage`), then [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": ""}), *(chunk({"content": text}) for text in texts)]
    events.append(chunk({}, finish))
    if usage is not None:
        events.append({**chunk({}), "choices": [], "usage": usage})
    return [*(json.dumps(event).encode() for event in events), b"[DONE]"]


def gemini_events(model: str, texts: list[str], usage: dict[str, Any], *, blocked: bool = False) -> list[bytes]:
    """A Gemini stream: a GenerateContentResponse per text, the last with the finish reason and the usage
    (no text: one chunk without parts; a blocked prompt: one chunk saying so)."""
    if blocked:
        return [json.dumps({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage}).encode()]
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}], "modelVersion": model}
        for parts in ([[{"text": text}] for text in texts] or [[]])
    ]
    events[-1]["candidates"][0]["finishReason"] = "STOP"
    events[-1]["usageMetadata"] = usage
    return [json.dumps(event).encode() for event in events]


class EventStream(Response):
    """A server-sent event stream, `data: <bytes>` per event, `delay` seconds apart; after `break_after`
    events the connection drops. `pause(seconds)` waits, True when the client hung up (which ends the
    stream); `done()` is called once the stream has ended, however it ended; `sent(words)` once each event
    has been handed to the server to send, with its `words[i]` (the answer's words it carries: the fake's
    tokens)."""

    def __init__(
        self,
        data: list[bytes],
        delay: float,
        break_after: int | None,
        pause: Callable[[float], Awaitable[bool]],
        done: Callable[[], None] | None,
        *,
        words: list[int] | None = None,
        sent: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(status_code=200)
        self.data, self.delay, self.break_after, self.pause, self.done = data, delay, break_after, pause, done
        self.words, self.sent = words or [], sent

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for sent, data in enumerate(self.data):
                if sent == self.break_after:
                    raise ConnectionResetError("the fake provider breaks this stream on purpose")
                if sent and self.delay and await self.pause(self.delay):
                    return  # the client hung up
                await send({"type": "http.response.body", "body": b"data: " + data + b"\n\n", "more_body": True})
                if self.sent is not None and sent < len(self.words) and self.words[sent]:
                    self.sent(self.words[sent])
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if self.done is not None:
                self.done()
