"""The fake provider's huge answers (`Behaviour.huge`): bodies of any size, made as they are sent, a piece at
a time, so that a 50 MB answer costs the fake no memory; and noticing a client that hangs up part-way."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.responses import Response

__all__ = ["SMALL", "HugeBody", "huge_answer", "huge_error", "huge_stream"]

SMALL = "small"  # the model whose requests get the usual answer even from a huge behaviour (a warm-up)
PIECE = 1024 * 1024  # of a whole body's text, per send
EVENT_TEXT = 64 * 1024  # of a stream's text, per event
JSON = (b"content-type", b"application/json")


def _text(size: int) -> bytes:
    """`size` bytes of plain text (nothing JSON would escape)."""
    words = b"lorem ipsum dolor sit amet "
    return (words * (size // len(words) + 1))[:size]


def _filled(head: bytes, size: int, tail: bytes) -> Iterator[bytes]:
    """`head`, `size` bytes of text a piece at a time, then `tail`."""
    yield head
    piece = _text(PIECE)
    for start in range(0, size, PIECE):
        yield piece[: min(PIECE, size - start)]
    yield tail


def huge_answer(api: str, model: str, size: int) -> tuple[int, Iterator[bytes]]:
    """A whole answer of `api`'s shape whose text is `size` bytes long: its length and its pieces."""
    if api == "openai":
        head = json.dumps({"id": "chatcmpl-huge", "object": "chat.completion", "created": 1, "model": model})[:-1]
        head += ', "choices": [{"index": 0, "message": {"role": "assistant", "content": "'
        tail = '"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}'
    else:
        head = '{"candidates": [{"content": {"role": "model", "parts": [{"text": "'
        tail = f'"}}]}}, "finishReason": "STOP", "index": 0}}], "modelVersion": {json.dumps(model)}}}'
    return len(head) + size + len(tail), _filled(head.encode(), size, tail.encode())


def huge_error(size: int) -> tuple[int, Iterator[bytes]]:
    """An error answer (either API's shape) whose message is `size` bytes long: its length and its pieces."""
    head, tail = b'{"error": {"code": 503, "message": "', b'", "status": "UNAVAILABLE"}}'
    return len(head) + size + len(tail), _filled(head, size, tail)


def huge_stream(api: str, model: str, size: int) -> Iterator[bytes]:
    """Server-sent events of `api`'s chunks carrying `size` bytes of text in all, `EVENT_TEXT` to an event."""

    def event(text: str, last: bool) -> bytes:
        if api == "openai":
            delta = {} if last else {"content": text}
            choice = {"index": 0, "delta": delta, "finish_reason": "stop" if last else None}
            data: dict[str, Any] = {"object": "chat.completion.chunk", "model": model, "choices": [choice]}
        else:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
            if last:
                candidate["finishReason"] = "STOP"
            data = {"candidates": [candidate], "modelVersion": model}
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    full = event(_text(EVENT_TEXT).decode(), last=False)
    for start in range(0, size, EVENT_TEXT):
        yield full if size - start >= EVENT_TEXT else event(_text(size - start).decode(), last=False)
    yield event(" the end", last=True)
    if api == "openai":
        yield b"data: [DONE]\n\n"


class HugeBody(Response):
    """An answer sent a piece at a time; `hung_up(sent)` is told how many bytes had been sent when the
    client hung up before the end (checked after each piece)."""

    def __init__(
        self,
        status: int,
        pieces: Iterator[bytes],
        *,
        length: int | None,
        event_stream: bool,
        disconnected: Callable[[], Awaitable[bool]],
        hung_up: Callable[[int], None],
    ) -> None:
        super().__init__(status_code=status)
        self.pieces, self.length, self.event_stream = pieces, length, event_stream
        self.disconnected, self.hung_up = disconnected, hung_up

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/event-stream")] if self.event_stream else [JSON]
        if self.length is not None:
            headers.append((b"content-length", str(self.length).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        sent = 0
        for piece in self.pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            sent += len(piece)
            if await self.disconnected():
                self.hung_up(sent)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
