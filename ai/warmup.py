"""Import the provider SDKs in the background once the server is up, so that the first call does not
stall the event loop for the ~0.5 s each import takes, and start-up does not pay for them either."""

from __future__ import annotations

import importlib
import logging
import threading
from types import MappingProxyType

__all__ = ["SDK_MODULES", "warm_up_later"]

logger = logging.getLogger("junior_ai.warmup")

SDK_MODULES = MappingProxyType({"openai": ("openai",), "gemini": ("google.genai", "google.genai.types")})


def _import(kinds: set[str]) -> None:
    for kind in sorted(kinds):
        for module in SDK_MODULES.get(kind, ()):
            try:
                importlib.import_module(module)
            except ImportError:  # the call that needs it will report it properly
                logger.warning("could not import %s in the background", module, exc_info=True)


def warm_up_later(kinds: set[str], delay_s: float) -> threading.Timer:
    """Import the SDKs for `kinds` ("openai", "gemini") in a daemon thread after `delay_s` seconds.

    The delay keeps the imports (which hold the GIL) out of the way of the MCP handshake.
    """
    timer = threading.Timer(delay_s, _import, args=(kinds,))
    timer.daemon = True
    timer.start()
    return timer
