"""What the store keeps of a conversation, as plain records: importing them loads no database code, so
that the tools and callers that use them stay off SQLAlchemy until the store is first opened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["CliSession", "NewTurn", "ThreadInfo", "Turn"]


@dataclass(frozen=True)
class NewTurn:
    """A turn to append: a user's prompt (with the files it carried), or one AI's answer."""

    role: str
    text: str
    ai: str | None = None
    model: str | None = None
    tool: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # path → sha256 of what was sent


@dataclass(frozen=True)
class Turn:
    """One turn of a thread as stored: its place (1, 2, ...) and when it was made."""

    thread_id: str
    seq: int
    role: str
    text: str
    ai: str | None
    model: str | None
    created: float
    tool: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ThreadInfo:
    """A thread as listings show it: its title, the AIs that answered in it, its size and activity."""

    id: str
    title: str
    created: float
    last_activity: float
    expires: float | None
    turns: int
    ais: tuple[str, ...]


@dataclass(frozen=True)
class CliSession:
    """A CLI AI's own session in a thread (ai/cli/), which its next call there resumes, with the session's
    cost and tokens so far as the CLI last reported them (None: not reported): a CLI that reports its
    session's totals gets this run's by subtracting them."""

    session_id: str
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
