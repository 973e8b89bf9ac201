"""Talks to AI providers — nothing else knows an SDK exists."""

from ai.async_client import AsyncAIClient, create_async_ai_client
from ai.caller import AIResult, call_ai, call_ai_async, call_multiple_ais
from ai.sync_client import SyncAIClient, create_ai_client

__all__ = [
    "AIResult",
    "AsyncAIClient",
    "SyncAIClient",
    "call_ai",
    "call_ai_async",
    "call_multiple_ais",
    "create_ai_client",
    "create_async_ai_client",
]
