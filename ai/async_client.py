"""The async provider clients: the `AsyncAIClient` interface, and thin classes over the wire modules
(ai.gemini, ai.openai_compat), and a factory.

    async with await create_async_ai_client("gemini", api_key, model) as client:
        completion = await client.ask(Request("Explain async/await"))
        answer = await client.generate("Explain async/await")     # the seed's: the text only

SDK clients are created on first use, so building a pool of clients at start-up imports no SDK: by
`prepare()` (see ai.warmup, which runs it in the background), or else by the first call, in a worker
thread so that importing an SDK never stalls the event loop.
"""

from __future__ import annotations

import abc
import importlib
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.to_thread

from ai import gemini, openai_compat
from ai.base import ClientBase, client_options
from ai.request import Completion, Request
from ai.stream import Received
from core.config.defaults import TEMPERATURE
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
    """One AI, asked asynchronously; `async with` closes it. Subclasses implement `_ask`, `_list_models`, `_aclose`."""

    _latch: anyio.Lock | None = None  # made by the first call, in its event loop

    async def generate(
        self,
        prompt: str,
        temperature: float | None = TEMPERATURE,
        max_tokens: int | None = None,
        *,
        system: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """The seed's way to ask: `prompt` (keyword `system` sets a system prompt), within `timeout`
        (default: the client's), and the answer's text.

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
            ProviderTimeout: no answer within the timeout (an `asyncio.TimeoutError`).
        """
        limit = timeout or self.timeout
        with within(limit, self.name, self.model):
            request = Request(prompt, system=system, temperature=temperature, max_tokens=max_tokens)
            return (await self.ask(request, limit)).text

    async def ask(self, request: Request, timeout: float | None = None, received: Received | None = None) -> Completion:
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
        return await self._ask(request, timeout or request.timeout or self.timeout, received)

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

    async def aclose(self) -> None:
        """Close the connections. Safe to call more than once."""
        if not self.closed:
            self.closed = True
            await self._aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @abc.abstractmethod
    async def _ask(self, request: Request, timeout: float, received: Received) -> Completion: ...

    @abc.abstractmethod
    async def _list_models(self, timeout: float) -> list[str]: ...

    @abc.abstractmethod
    async def _aclose(self) -> None: ...


class AsyncOpenAICompatibleClient(AsyncAIClient):
    """OpenAI, Grok, DeepSeek, OpenRouter and any OpenAI-compatible endpoint, through `AsyncOpenAI`."""

    kind = "openai"
    _sdk: AsyncOpenAI | None = None

    def _new_sdk(self) -> AsyncOpenAI:
        return openai_compat.new_sdk(self)

    async def _ask(self, request: Request, timeout: float, received: Received) -> Completion:
        return await openai_compat.ask(self, self._prepared(), request, timeout, received)

    async def _list_models(self, timeout: float) -> list[str]:
        return await openai_compat.list_models(self, self._prepared(), timeout)

    async def _aclose(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()


class AsyncGeminiClient(AsyncAIClient):
    """Google Gemini through google-genai's `client.aio`."""

    kind = "gemini"
    _sdk: GenaiClient | None = None

    def _new_sdk(self) -> GenaiClient:
        return gemini.new_sdk(self)

    async def _ask(self, request: Request, timeout: float, received: Received) -> Completion:
        return await gemini.ask(self, self._prepared(), request, timeout, received)

    async def _list_models(self, timeout: float) -> list[str]:
        return await gemini.list_models(self, self._prepared(), timeout)

    async def _aclose(self) -> None:
        if self._sdk is not None:
            await gemini.aclose(self._sdk)


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
