"""Conversations that last: a call continues a thread (or starts one), each AI sees the thread's earlier
turns as chat messages fitted to its context window, and the call's own turns are recorded at its end.

    async with conversation(app, continuation_id, title=prompt, deadline_s=45) as thread:
        results = await ask_routes(app, routes, request, history=thread.history_for)
        await thread.record("ask_all_ais", prompt, results)
    thread.continuation_id, thread.notes       # what the answer tells the user

What each AI sees of an earlier call: the user's prompt as a `user` turn, its own answer as its
`assistant` turn, and the other AIs' answers, labelled, as context in the next `user` turn. Calls on one
thread in this process take turns (the lock is held from reading the history to recording); a call from
another process that lands meanwhile is recorded first and named in a note. The store failing never
fails the call: it goes without history, or unrecorded, and the notes say why.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field

import anyio

from ai.request import Message
from callers.app import Junior, Route, split_name
from callers.fanout import AIResult
from core.config.defaults import ANSWER_RESERVE_TOKENS, CHARS_PER_TOKEN, HISTORY_SHARE
from core.errors import StoreUnavailable, ThreadBusy
from core.resilience.deadline import Deadline
from core.resilience.locks import LockTimeout
from core.store.turns import NewTurn, Turn

__all__ = ["MAX_TITLE_CHARS", "Conversation", "conversation", "fit", "history", "title_of"]

logger = logging.getLogger("junior_ai.threads")

MAX_TITLE_CHARS = 80
MIN_HISTORY_TOKENS = 1_000  # however small the window, this much history is kept (then cut to fit)


def title_of(prompt: str) -> str:
    """A thread's title: the first line of its first prompt, cut at a word to MAX_TITLE_CHARS."""
    line = next((line.strip() for line in prompt.splitlines() if line.strip()), "untitled")
    if len(line) <= MAX_TITLE_CHARS:
        return line
    return (line[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] or line[:MAX_TITLE_CHARS]) + "…"


def _others(answers: list[Turn]) -> str:
    return "\n\n".join(f"[{turn.ai}{f' ({turn.model})' if turn.model else ''}]\n{turn.text}" for turn in answers)


def _exchanges(turns: Iterable[Turn]) -> list[tuple[Turn, list[Turn]]]:
    """The thread as calls: each user turn with the answers recorded after it."""
    calls: list[tuple[Turn, list[Turn]]] = []
    for turn in turns:
        if turn.role == "user" or not calls:
            calls.append((turn, []))
        if turn.role != "user":
            calls[-1][1].append(turn)
    return calls


def history(turns: Iterable[Turn], ai: str) -> list[list[Message]]:
    """The thread as AI `ai` sees it, one list of messages per earlier call, oldest first: the prompt, its
    own answer, the others' answers as context (which then open the next call's `user` turn)."""
    calls: list[list[Message]] = []
    for prompt, answers in _exchanges(turns):
        own = next((turn for turn in answers if turn.ai == ai), None)
        others = [turn for turn in answers if turn is not own]
        messages = [Message("user", prompt.text)]
        if own is not None:
            messages.append(Message("assistant", own.text))
        if others:
            heard = "Other AIs answered that too:" if own is not None else "Other AIs answered:"
            messages.append(Message("user", f"{heard}\n\n{_others(others)}"))
        elif own is None:
            messages.append(Message("user", "(No AI answered that.)"))
        calls.append(messages)
    return calls


def _tokens(messages: Iterable[Message]) -> int:
    return sum(len(message.text) for message in messages) // CHARS_PER_TOKEN + 1


def fit(calls: list[list[Message]], budget_tokens: int) -> tuple[tuple[Message, ...], int]:
    """The newest calls that fit `budget_tokens`, and how many older ones were left out. When even the
    newest call alone does not fit, its messages are cut (each to its share of the budget)."""
    kept: list[list[Message]] = []
    used = 0
    for messages in reversed(calls):
        size = _tokens(messages)
        if used + size > budget_tokens:
            break
        kept.insert(0, messages)
        used += size
    if not kept and calls:
        newest = calls[-1]
        share = max(budget_tokens * CHARS_PER_TOKEN // len(newest), 1)
        cut = [Message(m.role, m.text if len(m.text) <= share else m.text[:share] + "\n[… cut]") for m in newest]
        return tuple(cut), len(calls) - 1
    return tuple(message for messages in kept for message in messages), len(calls) - len(kept)


def _kept_whole_from(calls: list[list[Message]], budget_tokens: int) -> int:
    """The first of `calls` that `fit` keeps whole (len(calls) when even the newest had to be cut)."""
    _, dropped = fit(calls, budget_tokens)
    return dropped if dropped < len(calls) and _tokens(calls[dropped]) <= budget_tokens else dropped + 1


def _history_budget(route: Route) -> int:
    """The tokens of history AI `route` may see: its share of the window, less the answer's reserve."""
    return max(int(route.config.context_window * HISTORY_SHARE) - ANSWER_RESERVE_TOKENS, MIN_HISTORY_TOKENS)


@dataclass
class Conversation:
    """One call's place in a thread: the turns it continues, and what the answer says about it.

    Attributes:
        continuation_id: The thread's id, once there is one (None when the store could not make one).
        turns: The thread's turns before this call.
        notes: What the user should know: history left out, a store that failed, a turn landed meanwhile.
    """

    app: Junior
    continuation_id: str | None
    turns: tuple[Turn, ...]
    title: str
    notes: list[str]
    readable: bool = True  # False: the store failed, and this call goes without the thread
    owner: str | None = None  # who asked (over HTTP, a token's name): only they see the thread
    new_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # the id a thread this call starts gets

    @property
    def thread_id(self) -> str:
        """The thread this call is part of: the one it continues, or the one it starts (for the ledger)."""
        return self.continuation_id or self.new_id

    def history_for(self, route: Route) -> tuple[Message, ...]:
        """What AI `route` sees of the thread before this call's prompt, fitted to its context window."""
        if not self.turns:
            return ()
        calls = history(self.turns, route.name)
        budget = _history_budget(route)
        messages, dropped = fit(calls, budget)
        if dropped:
            note = (
                f"{route.label}: the {dropped} oldest of {len(calls)} earlier calls in this thread were left out "
                f"to fit its context window (~{budget:,} tokens for history)"
            )
            if note not in self.notes:
                self.notes.append(note)
        return messages

    def known_files(self, routes: Iterable[Route]) -> dict[str, str]:
        """Files every AI in `routes` still has in its history, path → sha256 of the version last sent:
        those need not be sent again. A file sent in a call that some AI's window left out is not known."""
        exchanges = _exchanges(self.turns)
        left_out = max((_kept_whole_from(history(self.turns, r.name), _history_budget(r)) for r in routes), default=0)
        known: dict[str, str] = {}
        for prompt, _ in exchanges[left_out:]:
            known.update(prompt.files)
        return known

    async def record(
        self, tool: str, prompt: str, results: Iterable[AIResult], files: Mapping[str, str] | None = None
    ) -> None:
        """Record this call: the prompt the AIs saw, then every answer that arrived, at once, at the end
        of the thread (a new thread is made now if the call started one). A store that fails is a note."""
        answers = []
        for result in results:
            if result.ok and result.text is not None:
                name, _model = split_name(result.ai)
                answers.append(NewTurn("assistant", result.text, ai=name, model=result.model))
        new = [NewTurn("user", prompt, tool=tool, files=dict(files or {})), *answers]
        try:
            store = await self.app.store()
            if self.continuation_id is None:
                self.continuation_id = await store.threads.create(
                    self.title, new, thread_id=self.new_id, owner=self.owner
                )
                return
            if not self.readable:
                return  # its history was not read: appending blindly could not say what it followed
            places = await store.threads.append(self.continuation_id, new)
        except StoreUnavailable as error:
            self.notes.append(f"this call was not recorded in the thread: {error}")
            return
        if places and places[0] != len(self.turns) + 1:
            self.notes.append(
                "another call on this thread (from another server) was recorded while this one ran; "
                "this answer did not see it"
            )


@contextlib.asynccontextmanager
async def conversation(
    app: Junior, continuation_id: str | None, *, title: str, deadline_s: float | Deadline, owner: str | None = None
) -> AsyncIterator[Conversation]:
    """The thread `continuation_id` continues (None: a new one, made when the call is recorded), held for
    the call: other calls on it in this process wait, within the call's deadline (`deadline_s`: seconds
    from now, or the call's running `Deadline`), and so does reading the thread. With an `owner`, only a
    thread of theirs can be continued, and a new one is theirs.

    Raises:
        UnknownThread: no such thread (never made, expired or deleted).
        ThreadBusy: another call on the thread kept it past the call's deadline.
    """
    if continuation_id is None:
        yield Conversation(app, None, (), title_of(title), [], owner=owner)
        return
    deadline = Deadline.of(deadline_s, app.clock)
    waiting_s = deadline.remaining()
    try:
        async with app.thread_locks.hold(continuation_id, timeout_s=waiting_s):
            yield await _continued(app, continuation_id, owner, deadline)
    except LockTimeout as error:
        raise ThreadBusy(continuation_id, waiting_s) from error


async def _continued(app: Junior, continuation_id: str, owner: str | None, deadline: Deadline) -> Conversation:
    try:
        # A store operation already begun ends within its own limit (core/store/database.py): not cut in the middle.
        with anyio.move_on_after(deadline.remaining()) as reading:
            store = await app.store()
            turns = await store.threads.turns(continuation_id, owner=owner)
    except StoreUnavailable as error:
        return _unread(app, continuation_id, owner, str(error))
    if reading.cancelled_caught:
        return _unread(app, continuation_id, owner, "the store did not answer before the call's deadline")
    return Conversation(app, continuation_id, tuple(turns), "", [], owner=owner)


def _unread(app: Junior, continuation_id: str, owner: str | None, why: str) -> Conversation:
    """A call that goes without its thread's history (and is not recorded in it), saying why."""
    note = f"this call went without the thread's history: {why}"
    return Conversation(app, continuation_id, (), "", [note], readable=False, owner=owner)
