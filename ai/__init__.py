"""Talks to AI providers — nothing else knows an SDK exists."""

from ai.async_client import AsyncAIClient, create_async_ai_client
from ai.pool import ClientPool, Sender
from ai.request import Completion, Message, Request, Usage
from ai.sync_client import SyncAIClient, create_ai_client

__all__ = [
    "AsyncAIClient",
    "ClientPool",
    "Completion",
    "Message",
    "Request",
    "Sender",
    "SyncAIClient",
    "Usage",
    "create_ai_client",
    "create_async_ai_client",
]
