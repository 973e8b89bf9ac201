"""The sync provider clients, with the same `generate` signature as the async ones; used by `call_ai`
and as the fallback when an async client cannot do its work."""

from __future__ import annotations

import abc
import contextlib
import logging
import socket
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ai.base import MAX_MODEL_PAGES, ClientBase, chat_post, client_options
from ai.clean import MAX_MODELS
from ai.request import Completion, Request
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

if TYPE_CHECKING:
    from google.genai import Client as GenaiClient
    from openai import OpenAI

__all__ = ["GeminiClient", "OpenAICompatibleClient", "SyncAIClient", "create_ai_client"]

logger = logging.getLogger("junior_ai.sync_client")


class SyncAIClient(ClientBase, abc.ABC):
    """One AI, asked synchronously; `with` closes it. Timeouts are the SDK's (per connect and read)."""

    def generate(
        self, prompt: str, temperature: float | None = TEMPERATURE, max_tokens: int | None = None, **kwargs: Any
    ) -> str:
        """Ask the AI and return its answer's text (keyword `system` sets a system prompt).

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
        """
        return self.complete(prompt, temperature, max_tokens, **kwargs).text

    def complete(
        self,
        prompt: str,
        temperature: float | None = TEMPERATURE,
        max_tokens: int | None = None,
        *,
        system: str | None = None,
        timeout: float | None = None,
    ) -> Completion:
        """Like `generate`, but returns the whole `Completion`."""
        return self.send(Request(prompt, system=system, temperature=temperature, max_tokens=max_tokens), timeout)

    def send(self, request: Request, timeout: float | None = None) -> Completion:
        """Send `request` once and read the answer; `timeout` (default: the request's, else the client's)
        is the SDK's own limit, per connect and per read.

        Raises:
            ProviderError: the provider failed or answered with nothing usable (typed; see core.errors).
        """
        self._check_open()
        return self._send(request, timeout or request.timeout or self.timeout)

    def list_models(self, timeout: float | None = None) -> list[str]:
        """The ids of the models the provider offers, as the async client's `list_models` gives them.

        Raises:
            ProviderError: the provider failed or answered with something that is not a model list.
        """
        self._check_open()
        return self._list_models(timeout or self.timeout)

    def close(self) -> None:
        """Close the connections. Safe to call more than once."""
        if not self.closed:
            self.closed = True
            self._close()

    def abort(self) -> None:
        """Cut every connection of this client at once; safe from any thread (the event loop's, while a
        worker thread is blocked reading an answer: closing would not wake it, a shutdown does, and the
        provider sees the request abandoned). Calls in flight on this client fail; the next call builds
        a new SDK client, and each call closes the aborted one it used when it ends."""
        http_client = self._http_client()
        self._forget()
        if http_client is not None and not _cut(http_client):
            logger.debug("%s: no connection to cut", self.name)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abc.abstractmethod
    def _send(self, request: Request, timeout: float) -> Completion: ...

    @abc.abstractmethod
    def _list_models(self, timeout: float) -> list[str]: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    @abc.abstractmethod
    def _http_client(self) -> Any:
        """The httpx client under the SDK client, or None before first use."""

    @abc.abstractmethod
    def _forget(self) -> None:
        """Drop the SDK client (without closing it: a worker thread may still be using it)."""


class OpenAICompatibleClient(SyncAIClient):
    """OpenAI-compatible endpoints through the sync `OpenAI` client."""

    kind = "openai"
    _sdk: OpenAI | None = None

    def _client(self) -> OpenAI:
        sdk: OpenAI = self._prepared()
        return sdk

    def _new_sdk(self) -> OpenAI:
        import openai

        return openai.OpenAI(**self._openai_args(asynchronous=False))

    def _send(self, request: Request, timeout: float) -> Completion:
        sdk, body = self._client(), self._openai_request(request, timeout)
        try:
            with self._translated(openai_error, body["model"]):
                return read_openai(self.name, body["model"], sdk.post(**chat_post(body)), self.redactor)
        finally:
            if sdk is not self._sdk:  # aborted meanwhile: the last user closes it, in its own thread
                sdk.close()

    def _list_models(self, timeout: float) -> list[str]:
        sdk = self._client()
        try:
            with self._translated(openai_error, MODEL_LIST):
                return read_openai_models(self.name, sdk.models.list(timeout=timeout), self.redactor)
        finally:
            if sdk is not self._sdk:  # aborted meanwhile: the last user closes it, in its own thread
                sdk.close()

    def _close(self) -> None:
        if self._sdk is not None:
            self._sdk.close()

    def _http_client(self) -> Any:
        return None if self._sdk is None else self._sdk._client

    def _forget(self) -> None:
        self._sdk = None


class GeminiClient(SyncAIClient):
    """Gemini through google-genai's sync `client.models.generate_content`."""

    kind = "gemini"
    _sdk: GenaiClient | None = None

    def _client(self) -> GenaiClient:
        sdk: GenaiClient = self._prepared()
        return sdk

    def _new_sdk(self) -> GenaiClient:
        sdk: GenaiClient = self._gemini_client()
        return sdk

    def _send(self, request: Request, timeout: float) -> Completion:
        sdk, body = self._client(), self._gemini_request(request, timeout)
        try:
            with self._translated(gemini_error, body["model"]):
                return read_gemini(self.name, body["model"], sdk.models.generate_content(**body), self.redactor)
        finally:
            if sdk is not self._sdk:  # aborted meanwhile: the last user closes it, in its own thread
                sdk.close()

    def _list_models(self, timeout: float) -> list[str]:
        sdk, config = self._client(), self._gemini_list_config(timeout)
        try:
            with self._translated(gemini_error, MODEL_LIST):
                pager = sdk.models.list(config=config)
                models = list(pager.page)
                for _ in range(MAX_MODEL_PAGES - 1):
                    if not pager.config.get("page_token") or len(models) >= MAX_MODELS:
                        break
                    models += pager.next_page()
                return read_gemini_models(self.name, models, self.redactor)
        finally:
            if sdk is not self._sdk:  # aborted meanwhile: the last user closes it, in its own thread
                sdk.close()

    def _http_client(self) -> Any:
        return None if self._sdk is None else self._sdk._api_client._httpx_client

    def _forget(self) -> None:
        self._sdk = None

    def _close(self) -> None:
        if self._sdk is not None:
            # Its async HTTP client was never used, so it holds no connection and needs no closing
            # (closing it would need an event loop, and this may run inside one).
            self._sdk.close()


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
