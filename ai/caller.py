"""The seed's calling API, kept at the seed's path: it forwards to the shim in `callers.seed` (loaded on
first use, so importing ai/ never imports the layers above it).

    from ai.caller import call_ai, call_multiple_ais
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callers.seed import AIResult, call_ai, call_ai_async, call_multiple_ais

__all__ = ["AIResult", "call_ai", "call_ai_async", "call_multiple_ais"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("callers.seed"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
