"""The resilient single call and the fan-out, on top of ai/: what tools and collab/ ask AIs through."""

from callers.app import Junior, Route
from callers.call import complete, complete_sync, completed
from callers.fanout import Enough, History, OnResult, ask_all, ask_each, ask_routes
from callers.history import Conversation, conversation
from callers.result import AIResult

__all__ = [
    "AIResult",
    "Conversation",
    "Enough",
    "History",
    "Junior",
    "OnResult",
    "Route",
    "ask_all",
    "ask_each",
    "ask_routes",
    "complete",
    "complete_sync",
    "completed",
    "conversation",
]
