"""A loopback HTTP server that records every request exactly as it arrived, and answers it.

Unlike the fake provider it has no routes: whatever the method and path (an absolute URL too, as a
client sends it to a proxy), the request is recorded with its headers, and answered with a valid
Gemini generateContent answer when the path ends in `:generateContent`, an OpenAI chat completion
otherwise (as a one-chunk event stream when the request asks for a stream); or, when `redirect` is
set, with that 3xx status and a Location header.

    with Recorder() as recorder:
        ...  # point an AI at recorder.url("/grok/v1")
        assert recorder.requests[0].headers["authorization"] == "Bearer ..."
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.loopback import InThread, serve_in_thread

__all__ = ["Recorder", "Request"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

OPENAI_ANSWER = {
    "id": "chatcmpl-recorded",
    "object": "chat.completion",
    "created": 0,
    "model": "recorded-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "recorded"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
OPENAI_CHUNK = {
    "id": "chatcmpl-recorded",
    "object": "chat.completion.chunk",
    "created": 0,
    "model": "recorded-model",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "recorded"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
GEMINI_ANSWER = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "recorded"}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
    "modelVersion": "recorded-model",
}


@dataclass(frozen=True)
class Request:
    """One request as it arrived: method, target (path, or a whole URL through a proxy), headers, body."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        """Everything the request carried, as one text: to search for a value that must not be there."""
        lines = [f"{self.method} {self.path}?{self.query}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return "\n".join(lines) + "\n" + self.body.decode("utf-8", "replace")


@dataclass
class Recorder:
    """The recording server; `with Recorder() as recorder:` runs it on a free loopback port."""

    redirect: tuple[int, str] | None = None  # (status, Location) to answer every request with
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: InThread | None = None

    def url(self, path: str = "") -> str:
        """http://127.0.0.1:PORT followed by `path`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def recorded(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Recorder:
        self._running = serve_in_thread(self._app, "recorder", interface="asgi3")
        self.port = self._running.port
        return self

    def __exit__(self, *exc: object) -> None:
        if self._running:
            self._running.stop()

    # -- the HTTP side ---------------------------------------------------------------------------
    async def _app(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Any]
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        request = Request(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers, body)
        with self._lock:
            self.requests.append(request)
        if self.redirect is not None:
            status, location = self.redirect
            answer, extra = b"", [(b"location", location.encode("latin-1"))]
        elif _streamed(request):  # the same answer, as a stream of one chunk
            status, extra = 200, [(b"content-type", b"text/event-stream")]
            gemini = ":streamGenerateContent" in request.path
            answer = b"data: " + json.dumps(GEMINI_ANSWER if gemini else OPENAI_CHUNK).encode() + b"\n\n"
            answer += b"" if gemini else b"data: [DONE]\n\n"
        else:
            status, extra = 200, [(b"content-type", b"application/json")]
            answer = json.dumps(GEMINI_ANSWER if ":generateContent" in request.path else OPENAI_ANSWER).encode()
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": answer})


def _streamed(request: Request) -> bool:
    """Whether the request asks for a stream: Gemini's streaming method, or an OpenAI body with `stream: true`."""
    if ":streamGenerateContent" in request.path:
        return True
    try:
        body = json.loads(request.body)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True
