"""The seed's registry API, kept at the seed's path: it forwards to the shim in `callers.seed` (loaded on
first use, so importing core never imports the layers above it).

    from core.ai_clients import initialize_all_clients_async, ASYNC_AI_CLIENTS, cleanup_async_ai_clients
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callers.seed import (
        AI_CLIENTS,
        ASYNC_AI_CLIENTS,
        cleanup_async_ai_clients,
        initialize_all_clients,
        initialize_all_clients_async,
    )

__all__ = [
    "AI_CLIENTS",
    "ASYNC_AI_CLIENTS",
    "cleanup_async_ai_clients",
    "initialize_all_clients",
    "initialize_all_clients_async",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("callers.seed"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
