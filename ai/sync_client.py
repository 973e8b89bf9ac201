"""The sync provider clients, thin classes over the wire modules (ai.gemini, ai.openai_compat) with the
same `ask` and `generate` as the async ones; used by `call_ai` and as the fallback when an async client
cannot do its work."""

from __future__ import annotations

import abc
import contextlib
import logging
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ai import gemini, openai_compat
from ai.base import ClientBase, client_options
from ai.request import Completion, Request
from core.config.defaults import TEMPERATURE

if TYPE_CHECKING:
    from google.genai import Client as GenaiClient
    from openai import OpenAI

__all__ = ["GeminiClient", "OpenAICompatibleClient", "SyncAIClient", "create_ai_client"]

logger = logging.getLogger("junior_ai.sync_client")


class SyncAIClient(ClientBase, abc.ABC):
    """One AI, asked synchronously; `with` closes it. Timeouts are the SDK's (per connect and read)."""

    def generate(
        self,
        prompt: str,
        temperature: float | None = TEMPERATURE,
        max_tokens: int | None = None,
        *,
        system: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """The seed's way to ask: `prompt` (keyword `system` sets a system prompt), and the answer's text.

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
        """
        request = Request(prompt, system=system, temperature=temperature, max_tokens=max_tokens)
        return self.ask(request, timeout).text

    def ask(self, request: Request, timeout: float | None = None) -> Completion:
        """Send `request` once and read the answer; `timeout` (default: the request's, else the client's)
        is the SDK's own limit, per connect and per read.

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
        """
        self._check_open()
        with self._in_use() as sdk:
            return self._ask(sdk, request, timeout or request.timeout or self.timeout)

    def list_models(self, timeout: float | None = None) -> list[str]:
        """The ids of the models the provider offers, as the async client's `list_models` gives them.

        Raises:
            ProviderError: the provider failed or answered with something that is not a model list.
        """
        self._check_open()
        with self._in_use() as sdk:
            return self._list_models(sdk, timeout or self.timeout)

    def close(self) -> None:
        """Close the connections. Safe to call more than once."""
        if not self.closed:
            self.closed = True
            if self._sdk is not None:
                # Gemini's: its async HTTP client was never used, so it holds no connection and needs no
                # closing (closing it would need an event loop, and this may run inside one).
                self._sdk.close()

    def abort(self) -> None:
        """Cut every connection of this client at once; safe from any thread (the event loop's, while a
        worker thread is blocked reading an answer: closing would not wake it, a shutdown does, and the
        provider sees the request abandoned). Calls in flight on this client fail; the next call builds
        a new SDK client, and each call closes the aborted one it used when it ends."""
        http_client = self._http_client()
        self._sdk = None  # not closed: a worker thread may still be using it
        if http_client is not None and not _cut(http_client):
            logger.debug("%s: no connection to cut", self.name)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _in_use(self) -> Iterator[Any]:
        """The SDK client, for one call; closed when the call ends if `abort` dropped it meanwhile (the
        last user closes it, in its own thread)."""
        sdk = self._prepared()
        try:
            yield sdk
        finally:
            if sdk is not self._sdk:
                sdk.close()

    @abc.abstractmethod
    def _ask(self, sdk: Any, request: Request, timeout: float) -> Completion: ...

    @abc.abstractmethod
    def _list_models(self, sdk: Any, timeout: float) -> list[str]: ...

    @abc.abstractmethod
    def _http_client(self) -> Any:
        """The httpx client under the SDK client, or None before first use."""


class OpenAICompatibleClient(SyncAIClient):
    """OpenAI-compatible endpoints through the sync `OpenAI` client."""

    kind = "openai"
    _sdk: OpenAI | None = None

    def _new_sdk(self) -> OpenAI:
        return openai_compat.new_sdk_sync(self)

    def _ask(self, sdk: OpenAI, request: Request, timeout: float) -> Completion:
        return openai_compat.ask_sync(self, sdk, request, timeout)

    def _list_models(self, sdk: OpenAI, timeout: float) -> list[str]:
        return openai_compat.list_models_sync(self, sdk, timeout)

    def _http_client(self) -> Any:
        return None if self._sdk is None else self._sdk._client


class GeminiClient(SyncAIClient):
    """Gemini through google-genai's sync `client.models`."""

    kind = "gemini"
    _sdk: GenaiClient | None = None

    def _new_sdk(self) -> GenaiClient:
        return gemini.new_sdk(self)

    def _ask(self, sdk: GenaiClient, request: Request, timeout: float) -> Completion:
        return gemini.ask_sync(self, sdk, request, timeout)

    def _list_models(self, sdk: GenaiClient, timeout: float) -> list[str]:
        return gemini.list_models_sync(self, sdk, timeout)

    def _http_client(self) -> Any:
        return None if self._sdk is None else self._sdk._api_client._httpx_client


def _cut(http_client: Any) -> int:
    """Shut down the socket of every connection in an httpx2.Client's pool; how many were cut.

    Neither httpx nor the SDKs offer this (closing a pool does not wake a thread blocked reading), so it
    reaches through httpx2's transport and httpcore2's connections; a test proves it still works.
    """
    pool = getattr(getattr(http_client, "_transport", None), "_pool", None)
    cut = 0
    for connection in list(getattr(pool, "connections", ())):
        stream = getattr(getattr(connection, "_connection", None), "_network_stream", None)
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # closed by its own thread meanwhile
                sock.shutdown(socket.SHUT_RDWR)
                cut += 1
    return cut


def create_ai_client(ai_name: str, api_key: str | None, model: str, **options: Any) -> SyncAIClient:
    """Build the sync client for `ai_name`; same options as `create_async_ai_client`.

    Raises:
        UnknownAI: (a ValueError) the name is not a built-in AI and no base_url was given.
    """
    kind, options = client_options(ai_name, options)
    cls: type[SyncAIClient] = GeminiClient if kind == "gemini" else OpenAICompatibleClient
    return cls(ai_name, api_key, model, **options)
