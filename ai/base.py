"""What the sync and async clients share: who they talk to, how, and how SDK clients are made.

Every SDK client is built with every setting given explicitly, so that no AI picks up another's
settings from the environment: the openai SDK would read OPENAI_API_KEY, OPENAI_ORG_ID,
OPENAI_PROJECT_ID, OPENAI_BASE_URL, OPENAI_ADMIN_KEY, OPENAI_WEBHOOK_SECRET and OPENAI_CUSTOM_HEADERS
for Grok and Ollama too; google-genai would read GOOGLE_GENAI_USE_VERTEXAI (and _ENTERPRISE),
GOOGLE_CLOUD_PROJECT / _LOCATION, GOOGLE_API_KEY, GOOGLE_GEMINI_BASE_URL, GOOGLE_GENAI_API_VERSION,
GOOGLE_GENAI_CLIENT_MODE (a replay recorder) and SSL_CERT_FILE.

The HTTP clients follow no redirect (a 3xx is a `Redirected` error: the request carries the key, and
the SDKs would resend it to wherever the provider points) and do not `trust_env`. What trusting the
environment would give that users need is passed explicitly instead: the proxy from HTTP(S)_PROXY /
ALL_PROXY / NO_PROXY, and the CA bundle from SSL_CERT_FILE / SSL_CERT_DIR (what a corporate proxy that
inspects TLS needs). httpx2 reads no netrc today, but `trust_env` is where it would: off, no ambient
credential (a netrc password, say) can reach an AI whatever a later httpx2 does.
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
import threading
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import Any, ClassVar

from ai.body_cap import body_hooks
from ai.request import Request
from ai.translate import answer_of, gemini_hook
from ai.warmup import load_sdk
from core.config import defaults
from core.config.ai import BUILTIN_AIS, ProviderKind
from core.config.settings import default_base_url
from core.errors import AIUnavailable, ConfigError, ProviderError, UnknownAI
from core.redact import Redactor, safe_url

__all__ = [
    "GEMINI_API_VERSION",
    "GEMINI_MODELS_PAGE_SIZE",
    "MAX_MODEL_PAGES",
    "NO_KEY",
    "ClientBase",
    "client_options",
    "proxy_for",
]
# Sent when an OpenAI-compatible endpoint (e.g. Ollama) needs no key: the SDK insists on one, and it
# must never fall back to OPENAI_API_KEY from the environment, which belongs to another AI.
NO_KEY = "no-key-needed"
# google-genai's own default, given explicitly so that GOOGLE_GENAI_API_VERSION cannot change it.
GEMINI_API_VERSION = "v1"
# Gemini's model list comes in pages: as many per page as the API gives (1,000), and no more pages than this,
# however many next-page tokens a provider sends (ai.clean.MAX_MODELS caps the ids too).
GEMINI_MODELS_PAGE_SIZE = 1000
MAX_MODEL_PAGES = 10
# google-genai's settings for tests (a recorder or replayer of requests), read from the environment
# unless given: none, explicitly.
_GEMINI_DEBUG = MappingProxyType({"client_mode": None, "replays_directory": None, "replay_id": None})
# Held while an SDK client is built (and its SDK imported, the first time): by the warm-up thread, or by
# a call's worker thread, which so waits for the warm-up rather than importing alongside it. One lock for
# every client: imports cannot run in parallel anyway (the GIL), and no two threads import one SDK.
_PREPARING = threading.Lock()


def proxy_for(url: str) -> str | None:
    """The proxy to reach `url` through, from HTTP_PROXY / HTTPS_PROXY / ALL_PROXY and NO_PROXY (in
    either case; on macOS and Windows also the system's settings), as httpx's `trust_env` would
    choose it; None for a direct connection."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme.lower()) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def tls_context() -> ssl.SSLContext:
    """The certificates to trust: SSL_CERT_FILE / SSL_CERT_DIR when set, else the system's.

    Raises:
        ConfigError: SSL_CERT_FILE or SSL_CERT_DIR names certificates that cannot be loaded.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)


@functools.lru_cache(maxsize=4)  # one context for every client: loading a CA bundle takes milliseconds
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    import httpx2

    if not cafile and not capath:
        return httpx2.create_ssl_context(trust_env=False)
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(
            f"SSL_CERT_FILE={cafile or ''} SSL_CERT_DIR={capath or ''}: cannot load CA certificates ({error})"
        ) from None


def _ambient_openai_headers() -> list[str]:
    """The header names OPENAI_CUSTOM_HEADERS adds to every request of every openai SDK client (parsed
    as the SDK parses it), so that they can be omitted explicitly."""
    names = []
    for line in os.environ.get("OPENAI_CUSTOM_HEADERS", "").split("\n"):
        name, colon, _ = line.partition(":")
        if colon and name.strip() and name.strip().lower() != "authorization":
            names.append(name.strip())
    return names


class ClientBase:
    """One AI's identity and settings.

    Attributes:
        name: The AI's configured name ("gemini", "grok", "ollama", ...).
        model: The model asked.
        base_url: Where requests go.
        timeout: The default total time, in seconds, one request may take.
        stream: Whether the async client asks for the answer as a stream (so that a time limit that cuts
            it off leaves the text so far); the AI's `stream` setting.
        redactor: Masks the keys in what the provider sends back (see ai.clean): every key of the
            configuration (the pool gives `Settings.secrets`), or else this client's own.
        max_answer_bytes: The most bytes read of one answer (ai.body_cap); the `max_answer_bytes` setting.
        closed: True once `close()` ran.
    """

    kind: ClassVar[ProviderKind]
    _sdk: Any = None  # the SDK client, built once by `prepare` (each subclass gives its type)

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
        organization: str | None = None,
        project: str | None = None,
        api_version: str | None = None,
        stream: bool = True,
        redactor: Redactor | None = None,
        max_answer_bytes: int = defaults.MAX_ANSWER_BYTES,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_tokens_param = max_tokens_param
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        # OpenAI's account settings; client_options keeps them from any other AI.
        self.organization = organization
        self.project = project
        self.api_version = api_version or GEMINI_API_VERSION  # Gemini's; client_options keeps it from others
        self.stream = stream  # the async client streams answers (the sync client never does)
        self.max_answer_bytes = max_answer_bytes
        self._api_key = api_key
        # A provider (or a proxy shared by several AIs) may echo any AI's key: all of them are masked.
        self.redactor = redactor if redactor is not None else Redactor([api_key] if api_key else [])
        self.closed = False

    def __repr__(self) -> str:
        url = safe_url(self.base_url)
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, base_url={url!r})"

    @property
    def prepared(self) -> bool:
        """True once the SDK client is built: the next call neither imports nor builds anything."""
        return self._sdk is not None

    def prepare(self) -> None:
        """Build the SDK client now (importing the SDK first, if no client did yet), so that the first call
        finds it ready. Thread-safe and idempotent. It blocks, for up to half a second the first time: from
        async code, run it in a worker thread (the async clients do, when a call finds them unprepared).

        Raises:
            AIUnavailable: the SDK cannot be imported (not installed, or broken).
            ConfigError: SSL_CERT_FILE or SSL_CERT_DIR names certificates that cannot be loaded.
            RuntimeError: the client is closed.
        """
        self._prepared()

    def _prepared(self) -> Any:
        """The SDK client, built by whichever thread needs it first; the others wait for it."""
        sdk = self._sdk
        if sdk is None:
            with _PREPARING:
                sdk = self._sdk
                if sdk is None:
                    self._check_open()
                    try:
                        load_sdk(self.kind)
                    except ImportError as error:
                        raise AIUnavailable(
                            self.name, f"cannot be called: its SDK does not import ({error})"
                        ) from error
                    sdk = self._sdk = self._new_sdk()
        return sdk

    def _new_sdk(self) -> Any:
        """A new SDK client; `prepare` calls it once, with the SDK imported."""
        raise NotImplementedError

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{self!r} is closed")

    def _translated(
        self, translate: Callable[[str, str, BaseException, Redactor], ProviderError | None], model: str
    ) -> AbstractContextManager[None]:
        """Around sending a request and reading its answer: every exception becomes a typed error
        (`ai.translate.answer_of`), so that an answer is never sent again by the sync fallback."""
        return answer_of(self.name, model, self.redactor, translate)

    # -- arguments for the SDKs --------------------------------------------------------------------
    def _http_args(self) -> dict[str, Any]:
        """The httpx2 client arguments both SDKs get: every one that the environment could set."""
        import httpx2

        pool = self.max_connections
        return {
            "limits": httpx2.Limits(max_connections=pool, max_keepalive_connections=pool),
            "follow_redirects": False,  # a 3xx becomes Redirected: the key is never resent elsewhere
            "trust_env": False,  # no ambient credentials; the proxy and CA bundle come explicitly:
            "proxy": proxy_for(self.base_url),
            "verify": tls_context(),
        }

    def _openai_args(self, asynchronous: bool) -> dict[str, Any]:
        import httpx2
        import openai

        timeout = openai.Timeout(self.timeout, connect=min(self.connect_timeout, self.timeout))
        http_client = httpx2.AsyncClient if asynchronous else httpx2.Client
        key = self._api_key or NO_KEY
        headers: dict[str, Any] = {name: openai.Omit() for name in _ambient_openai_headers()}
        # Given here, an Authorization header also makes the SDK drop one from OPENAI_CUSTOM_HEADERS.
        headers["Authorization"] = f"Bearer {key}"
        # None would make the SDK read OPENAI_ORG_ID / OPENAI_PROJECT_ID; Omit sends no header at all.
        headers["OpenAI-Organization"] = self.organization or openai.Omit()
        headers["OpenAI-Project"] = self.project or openai.Omit()
        return {
            "api_key": key,
            "organization": self.organization or "",
            "project": self.project or "",
            "admin_api_key": "",  # never sent on chat completions; "" keeps OPENAI_ADMIN_KEY unread
            "webhook_secret": "",  # never used here; "" keeps OPENAI_WEBHOOK_SECRET unread
            "base_url": self.base_url,
            "timeout": timeout,
            "max_retries": 0,  # one retry loop in the whole server, ours
            "default_headers": headers,
            "http_client": http_client(
                timeout=timeout, event_hooks=body_hooks(self.max_answer_bytes, asynchronous), **self._http_args()
            ),
        }

    def _openai_request(self, request: Request, timeout: float) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
        *earlier, last = request.messages  # the prompt, joined with any user turn just before it
        messages.extend({"role": turn.role, "content": turn.text} for turn in earlier)
        messages.append({"role": "user", "content": _openai_content(last.text, request)})
        body: dict[str, Any] = {"model": request.model or self.model, "messages": messages}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body[self.max_tokens_param] = request.max_tokens
        if timeout != self.timeout:
            body["timeout"] = timeout
        return body

    def _gemini_client(self) -> Any:
        from google import genai
        from google.genai import types

        # google-genai retries only when given retry options; we give none (one retry loop, ours).
        # Client arguments (not ready clients) keep the SDK's own async client, one pool per event loop.
        # The hooks cap every body, then read error answers before google-genai does (ai.translate.ErrorAnswer).
        http, cap = self._http_args(), self.max_answer_bytes
        options = types.HttpOptions(
            base_url=self.base_url,
            api_version=self.api_version,
            timeout=int(self.timeout * 1000),
            client_args=http | {"event_hooks": body_hooks(cap, False, gemini_hook(asynchronous=False))},
            async_client_args=http | {"event_hooks": body_hooks(cap, True, gemini_hook(asynchronous=True))},
        )
        return genai.Client(
            vertexai=False,  # not GOOGLE_GENAI_USE_VERTEXAI, and so no GOOGLE_CLOUD_* or Google credentials
            enterprise=False,
            api_key=self._api_key or NO_KEY,
            http_options=options,
            debug_config=genai.client.DebugConfig(**_GEMINI_DEBUG),
        )

    def _gemini_request(self, request: Request, timeout: float) -> dict[str, Any]:
        from google.genai import types

        override = types.HttpOptions(timeout=int(timeout * 1000)) if timeout != self.timeout else None
        config = types.GenerateContentConfig(
            system_instruction=request.system,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens,
            http_options=override,
        )
        *earlier, last = request.messages  # the prompt, joined with any user turn just before it
        contents: Any = last.text
        if earlier or request.images:  # Gemini calls the AI's turns "model"
            contents = [
                types.Content(role="model" if turn.role == "assistant" else "user", parts=[types.Part(text=turn.text)])
                for turn in earlier
            ]
            images = [types.Part.from_bytes(data=image.data, mime_type=image.mime) for image in request.images]
            contents.append(types.Content(role="user", parts=[types.Part(text=last.text), *images]))
        return {"model": request.model or self.model, "contents": contents, "config": config}

    def _gemini_list_config(self, timeout: float) -> Any:
        """The config of one page of Gemini's model list: the biggest page, and our timeout for it."""
        from google.genai import types

        return types.ListModelsConfig(
            page_size=GEMINI_MODELS_PAGE_SIZE, http_options=types.HttpOptions(timeout=int(timeout * 1000))
        )


CHAT_PATH = "/chat/completions"


def chat_post(body: dict[str, Any], stream: bool = False) -> dict[str, Any]:
    """The arguments of the SDK's `post` for a chat completion whose body we built ourselves:
    `chat.completions.create` first walks every message through the SDK's type transform, which for
    plain-string messages changes nothing and costs about 0.15 ms a message (8 ms for a 50-turn
    thread). Same request on the wire: the body as given, the key as bearer auth, the call's timeout.

    With `stream`, the answer is asked for as a stream with the usage in its last chunk, and `post`
    returns an `AsyncStream` of raw JSON chunks (`object`: the SDK builds no model of them; they are
    checked field by field in ai.stream).
    """
    from openai import AsyncStream
    from openai.types.chat import ChatCompletion

    body = dict(body)
    options: dict[str, Any] = {"security": {"bearer_auth": True}}
    if "timeout" in body:
        options["timeout"] = body.pop("timeout")
    post = {"path": CHAT_PATH, "cast_to": ChatCompletion, "body": body, "options": options}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        post |= {"stream": True, "stream_cls": AsyncStream[object]}
    return post


def _openai_content(text: str, request: Request) -> str | list[dict[str, Any]]:
    """The last user turn's content: its text, or with images a list of parts, each image as a data URL."""
    if not request.images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for image in request.images:
        url = f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


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
    else:
        # OpenAI's organization and project go to OpenAI only, whatever a caller passes.
        options.pop("organization", None)
        options.pop("project", None)
    if (kind or "openai") != "gemini":
        options.pop("api_version", None)
    return kind or "openai", options
