"""Reading and managing threads: the resources `junior://threads` (recent threads) and
`junior://threads/{thread_id}` (one transcript, as Markdown), and the `threads` tool for clients that
cannot read resources (list / search / show / delete)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from callers import Junior
from core.errors import InvalidRequest, JuniorAIError, UnknownThread
from core.store.turns import ThreadInfo, Turn
from tools.answer import Answer
from tools.boundary import add_tool
from tools.context import AppContext, app_of, caller

__all__ = [
    "LISTED",
    "MAX_SHOWN_CHARS",
    "ThreadsResult",
    "register",
    "render_listing",
    "render_transcript",
    "thread_transcript",
    "threads",
]

LISTED = 20  # threads a listing shows
MAX_SHOWN_CHARS = 4_000  # of one turn, in the tool's transcript (the resource has every character)
# The tool deletes threads (its other actions only read), and talks to nothing outside.
MANAGES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)

Action = Literal["list", "search", "show", "delete"]


class ThreadSummary(BaseModel):
    """One thread in a listing."""

    id: str
    title: str
    ais: list[str]
    turns: int
    last_activity: str


class ThreadsResult(BaseModel):
    """The threads tool's structured content: the threads listed, shown or deleted."""

    action: Action
    threads: list[ThreadSummary]
    deleted: bool | None = None


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _summary(info: ThreadInfo) -> ThreadSummary:
    return ThreadSummary(
        id=info.id, title=info.title, ais=list(info.ais), turns=info.turns, last_activity=_when(info.last_activity)
    )


def render_listing(infos: list[ThreadInfo], search: str | None = None) -> str:
    """Recent threads as Markdown, one line each: id, title, AIs, turns, last activity."""
    if not infos:
        return f"No thread matches {search!r}." if search else "No threads yet: every answer starts one."
    heading = f"Threads matching {search!r}" if search else "Recent threads"
    lines = [f"# {heading}", ""]
    for info in infos:
        ais = ", ".join(info.ais) or "no answers yet"
        lines.append(f"- `{info.id}` {info.title} ({ais}; {info.turns} turns; last {_when(info.last_activity)})")
    return "\n".join(lines)


def _cut(text: str, limit: int | None, thread_id: str) -> str:
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}\n[… {len(text) - limit:,} more characters: read junior://threads/{thread_id}]"


def render_transcript(info: ThreadInfo, turns: list[Turn], limit: int | None = None) -> str:
    """A thread as Markdown: its title and facts, then each call's prompt and answers."""
    ais = ", ".join(info.ais) or "none yet"
    parts = [
        f"# {info.title}",
        f"Thread `{info.id}` · started {_when(info.created)} · last activity {_when(info.last_activity)} · "
        f"{info.turns} turns · AIs: {ais}",
    ]
    for turn in turns:
        if turn.role == "user":
            via = f" ({turn.tool})" if turn.tool else ""
            parts.append(f"## {turn.seq}. Asked{via} · {_when(turn.created)}\n{_cut(turn.text, limit, info.id)}")
        else:
            model = f" ({turn.model})" if turn.model else ""
            parts.append(f"### {turn.ai}{model}\n{_cut(turn.text, limit, info.id)}")
    return "\n\n".join(parts)


@contextlib.contextmanager
def readable_errors() -> Iterator[None]:
    """Our typed errors reach the client as the resource's error, with their message (the SDK hides any
    other exception's)."""
    try:
        yield
    except JuniorAIError as error:
        raise ResourceError(str(error)) from error


async def threads(
    ctx: AppContext,
    action: Action = "list",
    thread_id: Annotated[str | None, Field(max_length=64, description="For show, delete.")] = None,
    search: Annotated[str | None, Field(max_length=200, description="For search.")] = None,
) -> Answer:
    """The threads tool: list, search, show or delete the caller's threads.

    Raises:
        InvalidRequest: the action lacks what it needs (`search`, `thread_id`).
        UnknownThread: no such thread of the caller's.
    """
    store = await app_of(ctx).store()
    owner = caller()
    if action in ("list", "search"):
        if action == "search" and not search:
            raise InvalidRequest("search needs the words to look for in `search`")
        found = await store.threads.recent(limit=LISTED, search=search if action == "search" else None, owner=owner)
        result = ThreadsResult(action=action, threads=[_summary(info) for info in found])
        return Answer(render_listing(found, search if action == "search" else None), result)
    if not thread_id:
        raise InvalidRequest(f"{action} needs `thread_id` (the continuation_id an answer gave; list shows them)")
    if action == "show":
        info = await store.threads.info(thread_id, owner=owner)
        text = render_transcript(info, await store.threads.turns(thread_id, owner=owner), MAX_SHOWN_CHARS)
        return Answer(text, ThreadsResult(action=action, threads=[_summary(info)]))
    if not await store.threads.delete(thread_id, owner=owner):
        raise UnknownThread(thread_id)
    return Answer(f"Deleted thread {thread_id}.", ThreadsResult(action=action, threads=[], deleted=True))


async def thread_transcript(thread_id: str, ctx: AppContext) -> str:
    """The resource junior://threads/{thread_id}: one thread of the caller's, every turn, as Markdown."""
    with readable_errors():
        store = await app_of(ctx).store()
        owner = caller()
        info = await store.threads.info(thread_id, owner=owner)
        return render_transcript(info, await store.threads.turns(thread_id, owner=owner))


def register(server: MCPServer, running: Callable[[], Junior]) -> None:
    """Register the threads resources and tool on `server`; `running()` is the application of the live
    connection (a static resource is read without a request context)."""

    async def recent_threads() -> str:
        with readable_errors():
            store = await running().store()
            return render_listing(await store.threads.recent(limit=LISTED, owner=caller()))

    server.resource(
        "junior://threads",
        name="threads",
        title="Recent threads",
        description="Recent conversations: id, title, AIs, turns, last activity.",
        mime_type="text/markdown",
    )(recent_threads)
    server.resource(
        "junior://threads/{thread_id}",
        name="thread",
        title="Thread transcript",
        description="One conversation, every turn, as Markdown.",
        mime_type="text/markdown",
    )(thread_transcript)
    add_tool(
        server,
        threads,
        title="Threads",
        description="List, search, show or delete conversation threads.",
        annotations=MANAGES,
    )
