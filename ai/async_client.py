"""The async provider clients: the `AsyncAIClient` interface, Gemini and OpenAI-compatible, and a factory.

    async with await create_async_ai_client("gemini", api_key, model) as client:
        answer = await client.generate("Explain async/await")

SDK clients are created on first use, so building a pool of clients at start-up imports no SDK: by
`prepare()` (see ai.warmup, which runs it in the background), or else by the first call, in a worker
thread so that importing an SDK never stalls the event loop.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import AsyncGenerator, Awaitable
from contextlib import aclosing
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import anyio
import anyio.to_thread

from ai.base import MAX_MODEL_PAGES, ClientBase, chat_post, client_options
from ai.body_cap import BodyTooLarge
from ai.clean import MAX_MODELS
from ai.request import Completion, Request
from ai.stream import Received, is_event_stream, openai_json, read_gemini_stream, read_openai_stream
from ai.translate import (
    MODEL_LIST,
    gemini_error,
    openai_error,
    read_gemini,
    read_gemini_models,
    read_openai,
    read_openai_models,
)
from core.config.defaults import TEMPERATURE
from core.redact import Redactor
from core.resilience.deadline import within

if TYPE_CHECKING:
    from google.genai import Client as GenaiClient
    from openai import AsyncOpenAI

__all__ = [
    "AsyncAIClient",
    "AsyncGeminiClient",
    "AsyncOpenAICompatibleClient",
    "build_async_ai_client",
    "create_async_ai_client",
]


class AsyncAIClient(ClientBase, abc.ABC):
    """One AI, asked asynchronously; `async with` closes it. Subclasses implement `_send`, `_close`."""

    _latch: anyio.Lock | None = None  # made by the first call, in its event loop

    async def generate(
        self, prompt: str, temperature: float | None = TEMPERATURE, max_tokens: int | None = None, **kwargs: Any
    ) -> str:
        """Ask the AI and return its answer's text (keyword `system` sets a system prompt).

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
            ProviderTimeout: no answer within the timeout (an `asyncio.TimeoutError`).
        """
        return (await self.complete(prompt, temperature, max_tokens, **kwargs)).text

    async def complete(
        self,
        prompt: str,
        temperature: float | None = TEMPERATURE,
        max_tokens: int | None = None,
        *,
        system: str | None = None,
        timeout: float | None = None,
    ) -> Completion:
        """Like `generate`, but returns the whole `Completion` (text, model, usage, finish reason)."""
        limit = timeout or self.timeout
        with within(limit, self.name, self.model):
            return await self.send(
                Request(prompt, system=system, temperature=temperature, max_tokens=max_tokens), limit
            )

    async def send(
        self, request: Request, timeout: float | None = None, received: Received | None = None
    ) -> Completion:
        """Send `request` once and read the answer; `timeout` (default: the request's, else the client's)
        is the SDK's own limit. No retry and no overall time limit: the caller sets those. A streamed
        answer (the `stream` setting) is gathered in `received` as it arrives, so that a caller whose
        time limit cuts it off still has the text so far; one that goes past `max_answer_bytes` is its
        text so far, cut short (`Completion.cut_off` names the cap).

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
        """
        self._check_open()
        if self._sdk is None:
            await self._get_ready()
        received = received or Received()
        received.sent = True  # nothing awaits from here to the request going out
        return await self._send(request, timeout or request.timeout or self.timeout, received)

    async def list_models(self, timeout: float | None = None) -> list[str]:
        """The ids of the models the provider offers, as `name:model` takes them (cleaned: see
        `ai.clean.model_ids`). One request (Gemini: one per page), `timeout` (default: the client's) the
        SDK's own limit for each; no SDK retries and no overall limit: the caller sets that.

        Raises:
            ProviderError: the provider failed or answered with something that is not a model list.
        """
        self._check_open()
        if self._sdk is None:
            await self._get_ready()
        return await self._list_models(timeout or self.timeout)

    async def _get_ready(self) -> None:
        """The first calls: the SDK is imported, or the warm-up awaited, off the loop, in one worker thread
        for all of them (a burst of first calls must not take every worker thread, the stdio writer's too)."""
        if self._latch is None:
            self._latch = anyio.Lock()
        async with self._latch:
            if self._sdk is None:
                await anyio.to_thread.run_sync(self.prepare, abandon_on_cancel=True)

    async def close(self) -> None:
        """Close the connections. Safe to call more than once."""
        if not self.closed:
            self.closed = True
            await self._close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def _send(self, request: Request, timeout: float, received: Received) -> Completion: ...

    @abc.abstractmethod
    async def _list_models(self, timeout: float) -> list[str]: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...


class AsyncOpenAICompatibleClient(AsyncAIClient):
    """OpenAI, Grok, DeepSeek, OpenRouter and any OpenAI-compatible endpoint, through `AsyncOpenAI`."""

    kind = "openai"
    _sdk: AsyncOpenAI | None = None

    def _client(self) -> AsyncOpenAI:
        sdk: AsyncOpenAI = self._prepared()
        return sdk

    def _new_sdk(self) -> AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(**self._openai_args(asynchronous=True))

    async def _send(self, request: Request, timeout: float, received: Received) -> Completion:
        # Built outside the answer's region: if this fails, nothing was sent and the sync client may try.
        sdk, body = self._client(), self._openai_request(request, timeout)
        model = body["model"]
        with self._translated(openai_error, model):
            if not self.stream:
                return read_openai(self.name, model, await sdk.post(**chat_post(body)), self.redactor)
            async with await sdk.post(**chat_post(body, stream=True)) as chunks:
                if not is_event_stream(chunks.response.headers):  # a proxy that does not stream: one answer
                    return read_openai(self.name, model, openai_json(await chunks.response.aread()), self.redactor)
                return await _kept_at_cap(
                    read_openai_stream(self.name, model, chunks, received, self.redactor),
                    received,
                    model,
                    self.redactor,
                )

    async def _list_models(self, timeout: float) -> list[str]:
        sdk = self._client()
        with self._translated(openai_error, MODEL_LIST):
            return read_openai_models(self.name, await sdk.models.list(timeout=timeout), self.redactor)

    async def _close(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()


class AsyncGeminiClient(AsyncAIClient):
    """Google Gemini through google-genai's `client.aio.models.generate_content`."""

    kind = "gemini"
    _sdk: GenaiClient | None = None

    def _client(self) -> GenaiClient:
        sdk: GenaiClient = self._prepared()
        return sdk

    def _new_sdk(self) -> GenaiClient:
        sdk: GenaiClient = self._gemini_client()
        return sdk

    async def _send(self, request: Request, timeout: float, received: Received) -> Completion:
        # Built outside the answer's region: if this fails, nothing was sent and the sync client may try.
        sdk, body = self._client(), self._gemini_request(request, timeout)
        model = body["model"]
        with self._translated(gemini_error, model):
            if not self.stream:
                return read_gemini(self.name, model, await sdk.aio.models.generate_content(**body), self.redactor)
            # google-genai reads an answer that is not an event stream (a proxy's plain JSON) as one chunk.
            stream = await sdk.aio.models.generate_content_stream(**body)
            async with aclosing(cast("AsyncGenerator[Any, None]", stream)) as chunks:  # an async generator
                return await _kept_at_cap(
                    read_gemini_stream(self.name, model, chunks, received, self.redactor),
                    received,
                    model,
                    self.redactor,
                )

    async def _list_models(self, timeout: float) -> list[str]:
        sdk, config = self._client(), self._gemini_list_config(timeout)
        with self._translated(gemini_error, MODEL_LIST):
            pager = await sdk.aio.models.list(config=config)
            models = list(pager.page)
            for _ in range(MAX_MODEL_PAGES - 1):
                if not pager.config.get("page_token") or len(models) >= MAX_MODELS:
                    break
                models += await pager.next_page()
            return read_gemini_models(self.name, models, self.redactor)

    async def _close(self) -> None:
        if self._sdk is not None:
            await self._sdk.aio.aclose()
            self._sdk.close()


async def _kept_at_cap(
    reading: Awaitable[Completion], received: Received, model: str, redactor: Redactor
) -> Completion:
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


def build_async_ai_client(ai_name: str, api_key: str | None, model: str, **options: Any) -> AsyncAIClient:
    """Build the async client for `ai_name` (no I/O: the SDK client is made on first use).

    Options: base_url, timeout, kind, max_tokens_param, connect_timeout, max_connections, max_answer_bytes.

    Raises:
        UnknownAI: (a ValueError) the name is not a built-in AI and no base_url was given.
    """
    kind, options = client_options(ai_name, options)
    cls: type[AsyncAIClient] = AsyncGeminiClient if kind == "gemini" else AsyncOpenAICompatibleClient
    return cls(ai_name, api_key, model, **options)


async def create_async_ai_client(ai_name: str, api_key: str | None, model: str, **options: Any) -> AsyncAIClient:
    """The seed's factory: `async with await create_async_ai_client("gemini", key, model) as client:`.

    Raises:
        UnknownAI: (a ValueError) the name is not a built-in AI and no base_url was given.
    """
    return build_async_ai_client(ai_name, api_key, model, **options)


def __getattr__(name: str) -> Any:
    # The seed imports call_ai_async from here; it is the shim's (callers.seed), loaded on first use so
    # that importing ai/ never imports the layers above it.
    if name == "call_ai_async":
        return importlib.import_module("callers.seed").call_ai_async
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
