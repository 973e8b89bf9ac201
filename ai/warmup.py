"""Get the provider SDKs ready in the background from the moment the server starts, so that the first
call neither imports an SDK nor builds an SDK client on the event loop, and start-up waits for neither.

    warm_up(clients)        # in the lifespan, once the clients exist; returns at once

What a first call needs, and what it costs when the call pays for it (2 cores, Python 3.11, after
`mcp`, which already loads pydantic, anyio and httpx2):

    import openai (and its chat resource)       ~0.26 s
    import google.genai                         ~0.27 s
    the SDKs' models                            ~0.15 s   both SDKs build them on first use (defer_build)
    the TLS context, once                       ~0.02 s
    each SDK client                             ~1 ms openai, ~20 ms genai (its own websocket TLS context)

A call that finds its client not ready yet waits for it in a worker thread (`ClientBase.prepare`), never
on the event loop; a client that cannot be prepared (the SDK will not import) fails its calls with the
reason.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Protocol

from core.errors import AIUnavailable, ConfigError

__all__ = ["ANSWER_MODELS", "SDK_MODULES", "SEND_MODELS", "Preparable", "load_sdk", "warm_up"]

logger = logging.getLogger("junior_ai.warmup")


class Preparable(Protocol):
    """A client the warm-up can get ready (every `ai.base.ClientBase`)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def prepared(self) -> bool: ...

    def prepare(self) -> None: ...


# The modules a first call imports: the SDK, what it loads lazily on a first request, and asyncio's
# default executor (which resolves host names on a first connection).
SDK_MODULES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "openai": (
            "openai",
            "openai.resources.chat.chat",
            "openai.resources.chat.completions.completions",
            "concurrent.futures.thread",
        ),
        "gemini": ("google.genai", "google.genai.types", "concurrent.futures.thread"),
    }
)
# The SDK models a first call validates ("module:name"): both SDKs build them on first use (defer_build).
# Those that take part in sending are built before a client is ready; those that read the answer are
# built by the warm-up while the first requests are out (pydantic >= 2.14 makes that safe: a model is
# rebuilt under a lock). A name that a later SDK drops is skipped: its first call builds what replaced it.
SEND_MODELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "openai": (),
        "gemini": (
            "google.genai.types:GenerateContentConfig",
            "google.genai.types:_GenerateContentParameters",
            "google.genai.types:UserContent",
            "google.genai.types:Content",
            "google.genai.types:Part",
        ),
    }
)
ANSWER_MODELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "openai": (
            "openai.types.chat:ChatCompletion",
            "openai.types.chat.chat_completion:Choice",
            "openai.types.chat:ChatCompletionMessage",
            "openai.types:CompletionUsage",
        ),
        "gemini": (
            "google.genai.types:HttpResponse",
            "google.genai.types:GenerateContentResponse",
            "google.genai.types:Candidate",
            "google.genai.types:GenerateContentResponseUsageMetadata",
        ),
    }
)


@functools.cache  # once per process; a failed import is not cached, so the next call tries again
def load_sdk(kind: str) -> None:
    """Import the SDK that speaks to `kind` ("openai", "gemini") and build the models sending needs.

    Blocking (up to half a second) and holding the GIL: call it from a worker thread.

    Raises:
        ImportError: the SDK is not installed, or fails to import.
    """
    for module in SDK_MODULES.get(kind, ()):
        importlib.import_module(module)
    _build(SEND_MODELS.get(kind, ()))


def _build(models: Iterable[str]) -> None:
    for path in models:
        module, _, name = path.partition(":")
        model = getattr(importlib.import_module(module), name, None)
        if model is not None:
            model.model_rebuild()


def warm_up(
    clients: Iterable[Preparable], modules: Iterable[str] = (), jobs: Iterable[Callable[[], object]] = ()
) -> threading.Thread:
    """Prepare every client in `clients` in a daemon thread, starting now, then import `modules` and run
    `jobs` (what a first call needs besides: the store's modules, the price list); returns the thread.

    A call that arrives first waits for its client (in a worker thread, not on the event loop). A client
    that cannot be prepared is logged here and its calls report why.
    """
    job = functools.partial(_prepare_all, list(clients), tuple(modules), tuple(jobs))
    thread = threading.Thread(target=job, name="junior-ai-warm-up", daemon=True)
    thread.start()
    return thread


def _prepare_all(clients: list[Preparable], modules: tuple[str, ...], jobs: tuple[Callable[[], object], ...]) -> None:
    for client in clients:
        try:
            client.prepare()
        except (AIUnavailable, ConfigError) as error:  # its calls raise it again, to their callers
            logger.warning("%s: could not get ready in the background: %s", client.name, error)
        except RuntimeError:  # closed meanwhile (the server is shutting down): nothing to get ready
            continue
    # Last: a first call can already send meanwhile; its answers arrive a provider's latency later.
    for kind in sorted({client.kind for client in clients if client.prepared}):
        _build(ANSWER_MODELS.get(kind, ()))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:  # the call that needs it imports it again, and reports why
            logger.warning("could not import %s in the background: %s", module, error)
    for extra in jobs:
        try:
            extra()
        except ImportError as error:  # the call that needs it tries again, and reports why
            logger.warning("could not get ready in the background: %s", error)
