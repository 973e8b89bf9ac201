"""What the sync and async clients share: who they talk to, how, and how SDK clients are made."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from ai.translate import Prompt, answer_of, gemini_hooks
from core import defaults
from core.config import BUILTIN_AIS, ProviderKind, default_base_url
from core.errors import ProviderError, UnknownAI

__all__ = ["NO_KEY", "ClientBase", "client_options"]
# Sent when an OpenAI-compatible endpoint (e.g. Ollama) needs no key: the SDK insists on one, and it
# must never fall back to OPENAI_API_KEY from the environment, which belongs to another AI.
NO_KEY = "no-key-needed"


class ClientBase:
    """One AI's identity and settings.

    Attributes:
        name: The AI's configured name ("gemini", "grok", "ollama", ...).
        model: The model asked.
        base_url: Where requests go.
        timeout: The default total time, in seconds, one request may take.
        closed: True once `close()` ran.
    """

    kind: ClassVar[ProviderKind]

    def __init__(
        self,
        name: str,
        api_key: str | None,
        model: str,
        *,
        base_url: str,
        timeout: float = defaults.TIMEOUT_S,
        max_tokens_param: str = "max_tokens",
        connect_timeout: float = defaults.CONNECT_TIMEOUT_S,
        max_connections: int = defaults.MAX_CONNECTIONS,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_tokens_param = max_tokens_param
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self._api_key = api_key
        self.closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{self!r} is closed")

    def _translated(
        self, translate: Callable[[str, str, BaseException, str | None], ProviderError | None]
    ) -> AbstractContextManager[None]:
        """Around sending a request and reading its answer: every exception becomes a typed error
        (`ai.translate.answer_of`), so that an answer is never sent again by the sync fallback."""
        return answer_of(self.name, self.model, self._api_key, translate)

    # -- arguments for the SDKs --------------------------------------------------------------------
    def _limits(self) -> Any:
        import httpx2

        return httpx2.Limits(max_connections=self.max_connections, max_keepalive_connections=self.max_connections)

    def _openai_args(self, asynchronous: bool) -> dict[str, Any]:
        import openai

        timeout = openai.Timeout(self.timeout, connect=min(self.connect_timeout, self.timeout))
        http_client = openai.DefaultAsyncHttpxClient if asynchronous else openai.DefaultHttpxClient
        return {
            "api_key": self._api_key or NO_KEY,
            "base_url": self.base_url,
            "timeout": timeout,
            "max_retries": 0,  # one retry loop in the whole server, ours
            "http_client": http_client(timeout=timeout, limits=self._limits()),
        }

    def _openai_request(self, prompt: Prompt, timeout: float) -> dict[str, Any]:
        messages = [{"role": "system", "content": prompt.system}] if prompt.system else []
        messages.append({"role": "user", "content": prompt.text})
        request: dict[str, Any] = {"model": self.model, "messages": messages}
        if prompt.temperature is not None:
            request["temperature"] = prompt.temperature
        if prompt.max_tokens is not None:
            request[self.max_tokens_param] = prompt.max_tokens
        if timeout != self.timeout:
            request["timeout"] = timeout
        return request

    def _gemini_client(self) -> Any:
        from google import genai
        from google.genai import types

        # google-genai retries only when given retry options; we give none (one retry loop, ours).
        pool = {"limits": self._limits()}
        # The hooks read error answers before google-genai does (see ai.translate.ErrorAnswer).
        options = types.HttpOptions(
            base_url=self.base_url,
            timeout=int(self.timeout * 1000),
            client_args=pool | {"event_hooks": gemini_hooks(asynchronous=False)},
            async_client_args=pool | {"event_hooks": gemini_hooks(asynchronous=True)},
        )
        return genai.Client(api_key=self._api_key or NO_KEY, http_options=options)

    def _gemini_request(self, prompt: Prompt, timeout: float) -> dict[str, Any]:
        from google.genai import types

        override = types.HttpOptions(timeout=int(timeout * 1000)) if timeout != self.timeout else None
        config = types.GenerateContentConfig(
            system_instruction=prompt.system,
            temperature=prompt.temperature,
            max_output_tokens=prompt.max_tokens,
            http_options=override,
        )
        return {"model": self.model, "contents": prompt.text, "config": config}


def client_options(ai_name: str, options: dict[str, Any]) -> tuple[ProviderKind, dict[str, Any]]:
    """Which SDK speaks to `ai_name`, and the client's keyword arguments with the provider's defaults
    (base_url: the given one, else `<NAME>_BASE_URL`, else the built-in default).

    Raises:
        UnknownAI: not a built-in name and no base_url was given.
    """
    options = dict(options)
    kind: ProviderKind | None = options.pop("kind", None)
    options["base_url"] = options.get("base_url") or default_base_url(ai_name)
    if not options["base_url"]:
        raise UnknownAI(ai_name, list(BUILTIN_AIS), what="valid (or any name with a base_url)")
    builtin = BUILTIN_AIS.get(ai_name)
    if builtin is not None:
        kind = kind or builtin.kind
    if ai_name == "openai":
        # OpenAI's current models reject max_tokens; other compatible endpoints may not know the new name.
        options.setdefault("max_tokens_param", "max_completion_tokens")
    return kind or "openai", options
