"""The resilient single call and the fan-out, on top of ai/: what tools and collab/ ask AIs through."""

from callers.app import Junior, Route
from callers.call import ask, ask_route, ask_sync
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
    "ask",
    "ask_all",
    "ask_each",
    "ask_route",
    "ask_routes",
    "ask_sync",
    "conversation",
]
