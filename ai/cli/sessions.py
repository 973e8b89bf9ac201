"""Where a CLI AI's sessions are kept: the session it has in each thread, which the thread's next call to it
resumes (ai/cli/client.py), with the session's cost and tokens so far.

The application keeps them in the store (callers/cli_sessions.py: any server sharing the store resumes them,
and a restart keeps them); a client built on its own keeps them in memory (`MemorySessions`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from core.store.turns import CliSession

__all__ = ["SESSIONS_KEPT", "MemorySessions", "SessionBook"]

SESSIONS_KEPT = 1_000  # threads whose session a `MemorySessions` remembers, per CLI AI


class SessionBook(Protocol):
    """The sessions of the CLI AIs in threads. A book that cannot be read or written says so in its log and
    answers as if it had no session: the thread's history then goes in the prompt."""

    async def get(self, thread_id: str, ai: str) -> CliSession | None:
        """AI `ai`'s session in thread `thread_id`, or None."""
        ...

    async def put(self, thread_id: str, ai: str, session: CliSession) -> None:
        """Make `session` AI `ai`'s session in thread `thread_id`."""
        ...

    async def drop(self, thread_id: str, ai: str) -> None:
        """Forget AI `ai`'s session in thread `thread_id` (it failed: the next call starts a new one)."""
        ...


class MemorySessions:
    """A `SessionBook` in this process's memory: the latest SESSIONS_KEPT threads' sessions, lost on restart."""

    def __init__(self, kept: int = SESSIONS_KEPT) -> None:
        self.kept = kept
        self._sessions: OrderedDict[tuple[str, str], CliSession] = OrderedDict()

    async def get(self, thread_id: str, ai: str) -> CliSession | None:
        """AI `ai`'s session in thread `thread_id`, or None."""
        return self._sessions.get((thread_id, ai))

    async def put(self, thread_id: str, ai: str, session: CliSession) -> None:
        """Make `session` AI `ai`'s session in thread `thread_id` (the oldest beyond `kept` are forgotten)."""
        self._sessions[thread_id, ai] = session
        self._sessions.move_to_end((thread_id, ai))
        while len(self._sessions) > self.kept:
            self._sessions.popitem(last=False)

    async def drop(self, thread_id: str, ai: str) -> None:
        """Forget AI `ai`'s session in thread `thread_id`."""
        self._sessions.pop((thread_id, ai), None)
