"""A loopback HTTP server that speaks OpenAI chat completions and Gemini generateContent.

Each AI gets its own path prefix, so one server plays every provider at once and knows who called:

    OpenAI-compatible:  POST http://127.0.0.1:PORT/<ai>/v1/chat/completions
                        GET  http://127.0.0.1:PORT/<ai>/v1/models                (the model list)
    Gemini:             POST http://127.0.0.1:PORT/<ai>/v1beta/models/<model>:generateContent
                        POST .../models/<model>:streamGenerateContent?alt=sse    (streamed)
                        GET  http://127.0.0.1:PORT/<ai>/<version>/models         (pages: pageSize, pageToken)

(Both model lists may be GET /<ai>/v1/models: a request with Gemini's key header gets Gemini's answer.)

Per AI, a default `Behaviour` (latency, HTTP error, empty or blocked answer, or a raw answer: any
status, headers and body bytes) and a queue of one-shot behaviours consumed first ("503 twice, then
succeed"). Every request is recorded with its headers and JSON body, so tests can check what the SDKs
really sent. Per AI it also counts the requests in progress (`active`, and the most at once, `peak`),
and with `Behaviour(max_concurrent=N)` answers 429 at once to a request that would be the N+1-th.
Model lists answer with `FakeProvider.models_of(ai)` (set with `set_models`), under the same behaviours;
their requests are kept apart, in `model_lists`, so that counts of asked requests do not change.

Streams: an OpenAI request with `stream: true` gets server-sent events, `data: {chunk}` each (the text a
word at a time, the usage in a last chunk of its own when `stream_options.include_usage`), ending
`data: [DONE]`; Gemini's `:streamGenerateContent` gets events of GenerateContentResponse JSON, the last
with the finish reason and the usage. `Behaviour` sets the time between chunks, a stream that breaks,
hostile chunks, or a plain JSON answer instead of a stream. Streamed requests are recorded like the
others (`Recorded.stream` tells them apart), and count as in progress until their stream ends. The words
of answer text each AI's streams have sent (the fake's tokens, as its usage counts them) are in `streamed`,
so a test can tell what a provider would bill for streams cut short.

Huge answers (`Behaviour.huge`, tests/fakes/huge.py): a whole answer, a stream or an error body of any size,
made as it is sent; a client that hangs up part-way is recorded in `cut_bodies` (and `disconnects`).
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.huge import SMALL, HugeBody, huge_answer, huge_error, huge_stream
from tests.fakes.loopback import InThread, serve_in_thread
from tests.fakes.streams import EventStream, gemini_events, openai_events, pieces

__all__ = ["Behaviour", "FakeProvider", "Recorded"]

DISCONNECT_POLL_S = 0.01  # how often a waiting handler checks whether its client hung up


@dataclass(frozen=True)
class Behaviour:
    """How the fake answers one request."""

    latency: float = 0.0
    status: int | None = None
    retry_after: str | None = None
    text: str | None = None
    empty: bool = False
    blocked: bool = False
    body: str | None = None
    reset: bool = False  # send the headers and part of the body, then drop the connection
    fail_rate: float = 0.0  # this share of requests (at random, seeded) answers 500 instead
    # A raw answer, sent as given: `status` (default 200), these headers and these body bytes, for a
    # provider that answers HTML, an event stream, invalid UTF-8... The fake sets content-length itself.
    raw: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # A provider's concurrency limit: a request arriving while this many of the AI's are in progress
    # is answered 429 at once (no latency, no Retry-After) and counted in `FakeProvider.refused`.
    max_concurrent: int | None = None
    # The usage the answer reports, as the API spells it — OpenAI: (prompt_tokens, completion_tokens,
    # prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens); Gemini: (promptTokenCount,
    # candidatesTokenCount, cachedContentTokenCount, thoughtsTokenCount); a None is left out. None: the words
    # of the prompt and of the answer. `cost` is OpenRouter's `usage.cost` (OpenAI's API only).
    usage: tuple[Any, Any, Any, Any] | None = None
    cost: Any = None
    # Streams (a request that asks for one): the text goes `chunk_words` words to a chunk, `chunk_delay`
    # seconds apart (`latency` is the wait for the first); `break_after` chunks, then the connection drops;
    # `chunks` are sent as the events' data instead, byte for byte (bad JSON, invalid UTF-8, 5 MB...);
    # `not_streamed` answers with one plain JSON answer, as a proxy that does not stream.
    chunk_delay: float = 0.0
    chunk_words: int = 1
    break_after: int | None = None
    chunks: tuple[bytes, ...] | None = None
    not_streamed: bool = False
    # The answer's text, computed from the request (a simulated AI); `text` takes precedence.
    respond: Callable[[Recorded], str] | None = None
    # An answer whose text is this many bytes (a stream when one is asked for and not `not_streamed`), or
    # with `status` an error whose message is: made and sent a piece at a time, however large. A request
    # for the model `SMALL` (a warm-up) gets the usual answer.
    huge: int | None = None


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it."""

    ai: str
    api: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]
    stream: bool = False  # the request asked for a stream

    @property
    def system(self) -> str:
        """The system prompt the request carried ("" when none)."""
        if self.api == "openai":
            return "\n".join(str(m.get("content")) for m in self.body.get("messages", []) if m.get("role") == "system")
        system = self.body.get("systemInstruction") or {}
        return "\n".join(p.get("text", "") for p in system.get("parts", []))

    @property
    def user(self) -> str:
        """The user's text the request carried."""
        if self.api == "openai":
            messages = self.body.get("messages", [])
            return "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") != "system")
        parts = [p for c in self.body.get("contents", []) for p in c.get("parts", [])]
        return "\n".join(p["text"] for p in parts if "text" in p)

    @property
    def images(self) -> list[tuple[str, bytes]]:
        """The images the request carried, as (MIME type, bytes): OpenAI's image_url parts (data URLs),
        Gemini's inlineData parts."""
        if self.api == "openai":
            contents = [m["content"] for m in self.body.get("messages", []) if isinstance(m.get("content"), list)]
            urls = [p["image_url"]["url"] for c in contents for p in c if p.get("type") == "image_url"]
            return [(url[5:].split(";", 1)[0], base64.b64decode(url.split(",", 1)[1])) for url in urls]
        # Google's JSON takes either spelling of a field; google-genai sends {"inlineData": {"mime_type": ...}}.
        parts = [p for c in self.body.get("contents", []) for p in c.get("parts", [])]
        blobs = [p.get("inlineData") or p["inline_data"] for p in parts if "inlineData" in p or "inline_data" in p]
        return [(blob.get("mimeType") or blob["mime_type"], _bytes_of(blob["data"])) for blob in blobs]

    @property
    def prompt(self) -> str:
        """Every text the request carried: system prompt, then the user's."""
        return f"{self.system}\n{self.user}" if self.system else self.user


@dataclass
class FakeProvider:
    """The fake provider server; `with FakeProvider() as fake:` runs it on a free loopback port."""

    default: Behaviour = field(default_factory=Behaviour)
    record: bool = True  # keep every request (a long benchmark turns it off)
    requests: list[Recorded] = field(default_factory=list)
    _behaviours: dict[str, Behaviour] = field(default_factory=dict)
    _queues: dict[str, deque[Behaviour]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: InThread | None = None
    port: int = 0
    disconnects: list[tuple[str, float]] = field(default_factory=list)
    _random: random.Random = field(default_factory=lambda: random.Random(20261124))
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _closing: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
    # Per AI: requests in progress (refused ones excluded), the most at once, and 429s for max_concurrent.
    active: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Model lists: each AI's ids (`set_models`), and every list request received (body: its query).
    models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    model_lists: list[Recorded] = field(default_factory=list)
    # Huge answers whose client hung up before their end: (ai, bytes sent by then).
    cut_bodies: list[tuple[str, int]] = field(default_factory=list)
    # Per AI: the words of answer text its streams have handed to the server to send (the fake's tokens).
    streamed: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    # -- control, from the test's thread ---------------------------------------------------------
    def behave(self, ai: str, behaviour: Behaviour | None = None, **changes: Any) -> None:
        """Set how `ai` answers from now on (`behave("grok", status=500)`)."""
        self._behaviours[ai] = behaviour or Behaviour(**changes)

    def queue(self, ai: str, *behaviours: Behaviour) -> None:
        """One-shot behaviours for `ai`, used in order before its default."""
        with self._lock:
            self._queues[ai].extend(behaviours)

    def wait_for_disconnects(self, count: int, timeout: float) -> bool:
        """Block until `count` clients hung up while waiting for an answer (call it from a worker thread)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.disconnects) >= count, timeout)

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until `count` requests have arrived (call it from a worker thread)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.requests) >= count, timeout)

    def wait_for_active(self, ai: str, count: int, timeout: float) -> bool:
        """Block until `count` of `ai`'s requests are in progress at once (call it from a worker thread)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.active[ai] >= count, timeout)

    def wait_for_streamed(self, ai: str, words: int, timeout: float) -> bool:
        """Block until `ai`'s streams have sent `words` words of answer text in all (from a worker thread)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.streamed[ai] >= words, timeout)

    def wait_for_idle(self, ai: str, timeout: float) -> bool:
        """Block until none of `ai`'s requests is in progress, streams included (from a worker thread)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.active[ai] == 0, timeout)

    def set_models(self, ai: str, *ids: str) -> None:
        """The model ids `ai`'s model list answers with (any strings: a test may send hostile ones)."""
        self.models[ai] = ids

    def models_of(self, ai: str) -> tuple[str, ...]:
        """The ids `ai`'s model list answers with: those set, else two of its own."""
        return self.models.get(ai, (f"{ai}-alpha", f"{ai}-beta"))

    def reset(self) -> None:
        with self._lock:
            self.models.clear()
            self.model_lists.clear()
            self.requests.clear()
            self.disconnects.clear()
            self.cut_bodies.clear()
            self.peak.clear()
            self.refused.clear()
            self.streamed.clear()
            self._behaviours.clear()
            self._queues.clear()

    def base_url(self, ai: str, api: str = "openai") -> str:
        """The base_url to configure for `ai`; `api` is "openai" or "gemini"."""
        root = f"http://127.0.0.1:{self.port}/{ai}"
        return f"{root}/v1" if api == "openai" else root

    def requests_for(self, ai: str) -> list[Recorded]:
        return [r for r in list(self.requests) if r.ai == ai]

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        # Log level "critical" (the default): the responses cut short on purpose would otherwise log a traceback each.
        self._running = serve_in_thread(self._app(), "fake provider", nodelay=True, timeout_graceful_shutdown=1)
        self.port = self._running.port
        return self

    def stop(self) -> None:
        if self._closing is not None:
            loop, event = self._closing
            loop.call_soon_threadsafe(event.set)
        if self._running:
            self._running.stop(force=True)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the HTTP side ---------------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{ai}/v1/chat/completions", self._counted(self._openai), methods=["POST"]),
                Route("/{ai}/{version}/models/{model}:generateContent", self._counted(self._gemini), methods=["POST"]),
                Route(
                    "/{ai}/{version}/models/{model}:streamGenerateContent",
                    self._counted(self._gemini_stream),
                    methods=["POST"],
                ),
                Route("/{ai}/{version}/models", self._counted(self._models), methods=["GET"]),
            ]
        )

    def _counted(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """The handler, with the AI's request counted in `active` while it is in progress (once admitted)."""

        async def counted(request: Request) -> Response:
            request.state.admitted = False
            try:
                response = await handler(request)
                if isinstance(response, EventStream):  # admitted: no stream answers a refusal
                    request.state.admitted = False  # still in progress: the stream's end counts it out
                return response
            finally:
                if request.state.admitted:
                    self._done(request.path_params["ai"])

        return counted

    def _done(self, ai: str) -> None:
        """One of `ai`'s requests is no longer in progress."""
        with self._changed:
            self.active[ai] -= 1
            self._changed.notify_all()

    def _admit(self, request: Request, ai: str, behaviour: Behaviour) -> Behaviour:
        """Count the request in progress, or the behaviour of a refusal when the AI has too many."""
        with self._changed:
            if behaviour.max_concurrent is not None and self.active[ai] >= behaviour.max_concurrent:
                self.refused[ai] += 1
                return Behaviour(status=429)
            self.active[ai] += 1
            self.peak[ai] = max(self.peak[ai], self.active[ai])
            request.state.admitted = True
            self._changed.notify_all()
        return behaviour

    def _next(self, ai: str) -> Behaviour:
        with self._lock:
            queue = self._queues.get(ai)
            if queue:
                return queue.popleft()
        return self._behaviours.get(ai, self.default)

    async def _receive(
        self, request: Request, api: str, model: str | None = None, stream: bool = False
    ) -> tuple[Recorded, Behaviour]:
        ai = request.path_params["ai"]
        try:
            body = await request.json()
        except ValueError:
            body = {}
        stream = stream or body.get("stream") is True
        recorded = Recorded(ai, api, model or str(body.get("model", "")), dict(request.headers), body, stream)
        if self.record:
            with self._changed:
                self.requests.append(recorded)
                self._changed.notify_all()
        behaviour = self._admit(request, ai, self._next(ai))
        if behaviour.fail_rate and self._random.random() < behaviour.fail_rate:
            behaviour = Behaviour(status=500)
        if behaviour.latency:
            await self._pause(request, ai, behaviour.latency)
        return recorded, behaviour

    async def _pause(self, request: Request, ai: str, seconds: float) -> bool:
        """Sleep, but notice a client that hangs up (and record it), and end early when the server stops;
        True when the client hung up."""
        if self._closing is None:
            self._closing = (asyncio.get_running_loop(), asyncio.Event())
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self._closing[1].is_set():
            if await request.is_disconnected():
                with self._changed:
                    self.disconnects.append((ai, time.monotonic()))
                    self._changed.notify_all()
                return True
            try:
                await asyncio.wait_for(self._closing[1].wait(), min(left, DISCONNECT_POLL_S))
            except TimeoutError:
                pass
        return False

    @staticmethod
    def _answer_text(recorded: Recorded, behaviour: Behaviour) -> str:
        if behaviour.text is not None:
            return behaviour.text
        if behaviour.respond is not None:
            return behaviour.respond(recorded)
        if recorded.api == "openai":
            messages = recorded.body.get("messages", [])
            last = _text_of(messages[-1].get("content", "")) if messages else ""
        else:
            contents = recorded.body.get("contents", [])
            last = contents[-1]["parts"][0].get("text", "") if contents else ""
        return f"[{recorded.ai}:{recorded.model}] {last[:200]}"

    @staticmethod
    def _error(behaviour: Behaviour, api: str) -> Response | None:
        if behaviour.reset:
            return _CutShort()
        if behaviour.raw is not None:
            return _raw(behaviour.status or 200, behaviour.headers, behaviour.raw)
        if behaviour.body is not None:
            return Response(behaviour.body, status_code=behaviour.status or 200, media_type="application/json")
        if behaviour.status is None:
            return None
        headers = {"retry-after": behaviour.retry_after} if behaviour.retry_after else {}
        message = f"fake provider error {behaviour.status}"
        if api == "openai":
            payload: dict[str, Any] = {"error": {"message": message, "type": "fake_error", "code": None}}
        else:
            payload = {"error": {"code": behaviour.status, "message": message, "status": "FAKE_ERROR"}}
        return JSONResponse(payload, status_code=behaviour.status, headers=headers)

    def _huge(self, request: Request, recorded: Recorded, behaviour: Behaviour, size: int) -> Response:
        """`Behaviour.huge`: an error, a stream or a whole answer that long, sent a piece at a time."""
        length: int | None = None
        if behaviour.status is not None:
            length, parts = huge_error(size)
        elif recorded.stream and not behaviour.not_streamed:
            parts = huge_stream(recorded.api, recorded.model, size)
        else:
            length, parts = huge_answer(recorded.api, recorded.model, size)

        def hung_up(sent: int) -> None:
            with self._changed:
                self.cut_bodies.append((recorded.ai, sent))
                self.disconnects.append((recorded.ai, time.monotonic()))
                self._changed.notify_all()

        status = behaviour.status or 200
        disconnected = request.is_disconnected
        return HugeBody(
            status, parts, length=length, event_stream=length is None, disconnected=disconnected, hung_up=hung_up
        )

    async def _openai(self, request: Request) -> Response:
        recorded, behaviour = await self._receive(request, "openai")
        if behaviour.huge is not None and recorded.model != SMALL:
            return self._huge(request, recorded, behaviour, behaviour.huge)
        error = self._error(behaviour, "openai")
        if error is not None:
            return error
        text = self._answer_text(recorded, behaviour)
        if recorded.stream and not behaviour.not_streamed:
            usage = _openai_usage(behaviour, len(recorded.prompt.split()), len(text.split()))
            options = recorded.body.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                usage = None
            shown = pieces("" if behaviour.empty or behaviour.blocked else text, behaviour.chunk_words)
            finish = "content_filter" if behaviour.blocked else "stop"
            events = openai_events(recorded.model, shown, finish, usage)
            return self._streamed(request, recorded, behaviour, events, [0, *(len(p.split()) for p in shown)])
        content: str | None = "" if behaviour.empty else text
        finish = "stop"
        if behaviour.blocked:
            content, finish = None, "content_filter"
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": recorded.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
                ],
                "usage": _openai_usage(behaviour, len(recorded.prompt.split()), len(text.split())),
            }
        )

    async def _gemini_stream(self, request: Request) -> Response:
        model = request.path_params["model"]
        recorded, behaviour = await self._receive(request, "gemini", model, stream=True)
        if behaviour.huge is not None and recorded.model != SMALL:
            return self._huge(request, recorded, behaviour, behaviour.huge)
        error = self._error(behaviour, "gemini")
        if error is not None:
            return error
        if behaviour.not_streamed:
            return self._gemini_answer(recorded, behaviour, model)
        text = self._answer_text(recorded, behaviour)
        usage = _gemini_usage(behaviour, len(recorded.prompt.split()), len(text.split()))
        shown = pieces("" if behaviour.empty else text, behaviour.chunk_words)
        events = gemini_events(model, shown, usage, blocked=behaviour.blocked)
        words = [] if behaviour.blocked else [len(p.split()) for p in shown]
        return self._streamed(request, recorded, behaviour, events, words)

    def _streamed(
        self, request: Request, recorded: Recorded, behaviour: Behaviour, events: list[bytes], words: list[int]
    ) -> Response:
        """The events as a server-sent event stream (`Behaviour.chunks` instead, when set); `words[i]`: the
        answer's words event i carries, counted in `streamed` once it is sent."""
        ai = recorded.ai

        async def pause(seconds: float) -> bool:
            return await self._pause(request, ai, seconds)

        def sent(count: int) -> None:
            with self._changed:
                self.streamed[ai] += count
                self._changed.notify_all()

        data, words = (list(behaviour.chunks), []) if behaviour.chunks is not None else (events, words)
        return EventStream(
            data, behaviour.chunk_delay, behaviour.break_after, pause, lambda: self._done(ai), words=words, sent=sent
        )

    async def _gemini(self, request: Request) -> Response:
        model = request.path_params["model"]
        recorded, behaviour = await self._receive(request, "gemini", model)
        if behaviour.huge is not None and recorded.model != SMALL:
            return self._huge(request, recorded, behaviour, behaviour.huge)
        error = self._error(behaviour, "gemini")
        if error is not None:
            return error
        return self._gemini_answer(recorded, behaviour, model)

    def _gemini_answer(self, recorded: Recorded, behaviour: Behaviour, model: str) -> Response:
        text = self._answer_text(recorded, behaviour)
        usage = _gemini_usage(behaviour, len(recorded.prompt.split()), len(text.split()))
        if behaviour.blocked:
            return JSONResponse({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage})
        parts = [] if behaviour.empty else [{"text": text}]
        return JSONResponse(
            {
                "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage,
                "modelVersion": model,
            }
        )

    # -- model lists -------------------------------------------------------------------------------
    async def _list_request(self, request: Request, api: str) -> Behaviour:
        ai = request.path_params["ai"]
        recorded = Recorded(ai, api, "", dict(request.headers), dict(request.query_params))
        with self._changed:
            self.model_lists.append(recorded)
            self._changed.notify_all()
        behaviour = self._admit(request, ai, self._next(ai))
        if behaviour.latency:
            await self._pause(request, ai, behaviour.latency)
        return behaviour

    async def _models(self, request: Request) -> Response:
        if "x-goog-api-key" in request.headers:
            return await self._gemini_models(request)
        return await self._openai_models(request)

    async def _openai_models(self, request: Request) -> Response:
        behaviour = await self._list_request(request, "openai")
        error = self._error(behaviour, "openai")
        if error is not None:
            return error
        ai = request.path_params["ai"]
        data = [{"id": model, "object": "model", "created": 0, "owned_by": ai} for model in self.models_of(ai)]
        return JSONResponse({"object": "list", "data": data})

    async def _gemini_models(self, request: Request) -> Response:
        behaviour = await self._list_request(request, "gemini")
        error = self._error(behaviour, "gemini")
        if error is not None:
            return error
        ids = self.models_of(request.path_params["ai"])
        size = int(request.query_params.get("pageSize") or 50)
        start = int(request.query_params.get("pageToken") or 0)
        page = [
            {"name": f"models/{model}", "supportedGenerationMethods": ["generateContent", "countTokens"]}
            for model in ids[start : start + size]
        ]
        body: dict[str, Any] = {"models": page}
        if start + size < len(ids):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)


def _openai_usage(behaviour: Behaviour, prompt: int, answer: int) -> dict[str, Any]:
    if behaviour.usage is None:
        return {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer}
    prompt_tokens, completion_tokens, cached, reasoning = behaviour.usage
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if behaviour.cost is not None:
        usage["cost"] = behaviour.cost
    return {key: value for key, value in usage.items() if value is not None}


def _gemini_usage(behaviour: Behaviour, prompt: int, answer: int) -> dict[str, Any]:
    if behaviour.usage is None:
        return {"promptTokenCount": prompt, "candidatesTokenCount": answer, "totalTokenCount": prompt + answer}
    names = ("promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount", "thoughtsTokenCount")
    return {name: value for name, value in zip(names, behaviour.usage, strict=True) if value is not None}


def _text_of(content: Any) -> str:
    """An OpenAI message's text: the content itself, or its text parts (when it carries images too)."""
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    return str(content)


def _bytes_of(data: str) -> bytes:
    """Bytes as protobuf's JSON carries them: base64, standard or URL-safe (google-genai's), padded or not."""
    return base64.urlsafe_b64decode(data.replace("+", "-").replace("/", "_") + "=" * (-len(data) % 4))


# Headers the HTTP server must own, or the framing of the answer would break instead of its content.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def _raw(status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> Response:
    """Exactly this answer (no body where HTTP forbids one: 1xx, 204, 304)."""
    bodiless = status < 200 or status in (204, 304)
    response = Response(b"" if bodiless else body, status_code=status)
    response.raw_headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers
        if name.lower() not in FRAMING_HEADERS
    ]
    return response


class _CutShort(Response):
    """Promises 1,000 bytes, sends 20, then fails, so the server drops the connection mid-response."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"choices": [{"inde', "more_body": True})
        raise ConnectionResetError("the fake provider cuts this response short on purpose")
