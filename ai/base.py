"""What the sync and async clients of every wire format share: who they talk to, how the SDK client is
built once (`prepare`), the HTTP settings both SDKs get, and which wire format speaks to which AI.

The HTTP clients follow no redirect (a 3xx is a `Redirected` error: the request carries the key, and
the SDKs would resend it to wherever the provider points) and do not `trust_env`. What trusting the
environment would give that users need is passed explicitly instead: the proxy from HTTP(S)_PROXY /
ALL_PROXY / NO_PROXY, and the CA bundle from SSL_CERT_FILE / SSL_CERT_DIR (what a corporate proxy that
inspects TLS needs). httpx2 reads no netrc today, but `trust_env` is where it would: off, no ambient
credential (a netrc password, say) can reach an AI whatever a later httpx2 does. What each SDK would
read from the environment, and how it is kept from doing so, is in its wire module (ai.openai_compat,
ai.gemini).
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
import urllib.request
from typing import Any, ClassVar

from ai.warmup import load_sdk
from core.config import defaults
from core.config.ai import BUILTIN_AIS, ProviderKind
from core.config.settings import default_base_url
from core.errors import AIUnavailable, ConfigError, UnknownAI
from core.redact import Redactor, safe_url

__all__ = ["NO_KEY", "ClientBase", "client_options", "proxy_for", "tls_context"]
# Sent when an OpenAI-compatible endpoint (e.g. Ollama) needs no key: the SDK insists on one, and it
# must never fall back to OPENAI_API_KEY from the environment, which belongs to another AI.
NO_KEY = "no-key-needed"
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
        closed: True once closed (`aclose()` for the async client, `close()` for the sync one).
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
        self.api_version = api_version  # Gemini's; client_options keeps it from others
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

    def key(self) -> str:
        """The key to send: the AI's own, or a placeholder when it needs none (never one from the environment)."""
        return self._api_key or NO_KEY

    def http_args(self) -> dict[str, Any]:
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
