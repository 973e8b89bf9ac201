"""One AI-asking tool call's turn in a conversation: the prelude every such tool shares (the application,
the call's one deadline, the AIs it asks, the size check), the thread it continues (`continuation_id`), the
files it reads (`files`), and what it records and tells the user when it ends.

    async with taking_turn(ctx, "ask_all_ais", prompt, ais=ais, deadline_s=deadline_s, files=files) as turn:
        results = await ask_routes(turn.app, turn.routes, turn.request(base), history=turn.history_for)
        await turn.record(results)
    return turn.finish(Answer(...))      # + the notes, + "continuation_id: ..."

Waiting for the thread (another call on it), for the client's roots (tools/roots.py: on the handshake-era
protocols, asked mid-call) and for the store all count against the deadline, which the turn's requests carry
to the provider: a call ends by its `deadline_s`, whatever it waited for first. Without roots from the
client or the configuration, files are refused (`without_roots`). A call that asks a CLI agent asks for the
roots even without files: the agent runs in the client's first root, the project.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from ai.cli.client import project_root
from ai.request import Message, Request
from callers import AIResult, Conversation, Junior, Route, conversation
from core.files.reader import FileBundle, read_files
from core.files.rules import allowed_roots, files_budget, printable, quoted, without_roots
from core.resilience.deadline import Deadline
from tools.answer import Answer
from tools.context import AppContext, app_of, caller
from tools.roots import client_roots
from tools.size import check_size, with_context

__all__ = ["FILES_DEADLINE_SHARE", "CallTurn", "taking_turn"]

# Reading the files may take this share of the call's deadline at most: the AIs need the rest. What it
# takes (asking the client for its roots included) is taken from the deadline the AIs get.
FILES_DEADLINE_SHARE = 0.5


@dataclass
class CallTurn:
    """What one call asks, with the thread and the files around it.

    Attributes:
        app: The application the call runs in.
        tool: The tool's name, recorded with the turn.
        prompt: What every AI is asked: the prompt, the context, the files' text.
        thread: The conversation this call is part of.
        files: What the files made (text, images, notes, hashes), or an empty bundle.
        routes: The AIs the call asks, chosen once, as the call came in.
        deadline: The call's deadline, made as it came in; every request of the turn carries it.
    """

    app: Junior
    tool: str
    prompt: str
    thread: Conversation
    files: FileBundle
    routes: Sequence[Route]
    deadline: Deadline
    notes: list[str] = field(default_factory=list)

    def request(self, base: Request) -> Request:
        """`base` with this turn's prompt, images and deadline."""
        return replace(
            base,
            deadline=self.deadline,
            prompt=self.prompt,
            images=self.files.images,
            tool=self.tool,
            thread_id=self.thread.thread_id,
            caller=self.thread.owner,
        )

    def history_for(self, route: Route) -> tuple[Message, ...]:
        """What `route` sees of the thread before the prompt (callers.History)."""
        return self.thread.history_for(route)

    async def record(self, results: Iterable[AIResult]) -> None:
        """Record the call in its thread (the images by name: their bytes are not kept)."""
        shown = "".join(f"\n[image: {quoted(image.name)}]" for image in self.files.images)
        await self.thread.record(self.tool, self.prompt + shown, results, self.files.hashes)

    def finish(self, answer: Answer) -> Answer:
        """The answer with what the user should know: the files' and the thread's notes, and the
        continuation_id that continues this conversation."""
        notes = [*self.files.notes, *self._image_notes(), *self.thread.notes, *self.notes]
        return replace(answer, notes=(*answer.notes, *notes), continuation_id=self.thread.continuation_id)

    def _image_notes(self) -> list[str]:
        if not self.files.images:
            return []
        names = ", ".join(printable(image.name) for image in self.files.images)
        return [
            f"{route.label} does not take images, so {names} was not sent to it "
            f'(if its model does, set "images": true in its block)'
            for route in self.routes
            if not route.config.takes_images
        ]


@contextlib.asynccontextmanager
async def taking_turn(
    ctx: AppContext,
    tool: str,
    prompt: str,
    *,
    ais: Sequence[str] | None,
    deadline_s: float | None,
    default_deadline_s: float | None = None,
    context: str | None = None,
    continuation_id: str | None = None,
    files: Sequence[str] | None = None,
    also_sent: Sequence[str | None] = (),
    check: Callable[[Sequence[Route]], None] | None = None,
) -> AsyncIterator[CallTurn]:
    """The call's turn, the prelude of every AI-asking tool: the call's deadline (`deadline_s`, else
    `default_deadline_s`, else the configured `deadline_s`) made as the call came in, the AIs it asks (`ais`,
    default every usable one) resolved once, the size check run once over the prompt, the context and
    whatever else the call sends (`also_sent`), the tool's own `check` of the AIs chosen; then the thread held
    for the call (calls on it take turns) and the files read, every wait within the deadline.

    Raises:
        InvalidRequest: the texts are too large, or `check` refused the AIs.
        NoAIConfigured, UnknownAI, AIUnavailable: the AIs cannot be asked.
        FileRefused: a path named in `files` cannot be read, every refusal listed with its rule; or the
            files were not read within their share of the deadline; or there is no root to read them from
            (the client offers none and `allowed_roots` is not set).
        UnknownThread, ThreadBusy: the thread cannot be continued.
    """
    app = app_of(ctx)
    deadline = Deadline(deadline_s or default_deadline_s or app.settings.deadline_s, app.clock)
    check_size(app, prompt, context, *also_sent)
    routes = app.select(ais)
    if check is not None:
        check(routes)
    text = with_context(prompt, context)
    async with conversation(app, continuation_id, title=prompt, deadline_s=deadline, owner=caller()) as thread:
        bundle = await _read_files(ctx, app, files, routes, thread, deadline)
        if not files and any(route.config.cli is not None for route in routes):
            await _cli_project(ctx, app, deadline)
        asked = f"{text}\n\n--- files ---\n{bundle.text}" if bundle.text else text
        yield CallTurn(app, tool, asked, thread, bundle, routes, deadline)


async def _cli_project(ctx: AppContext, app: Junior, deadline: Deadline) -> None:
    """Where a CLI agent asked in this call runs: the client's first root (asked for as for `files`, within the
    deadline), else the first of `allowed_roots`; with neither, the CLI client's own default."""
    roots = allowed_roots(await client_roots(ctx, deadline), app.settings)
    if roots:
        project_root.set(str(roots[0]))  # ai/cli/client.py: the CLI's working directory


async def _read_files(
    ctx: AppContext,
    app: Junior,
    files: Sequence[str] | None,
    routes: Sequence[Route],
    thread: Conversation,
    deadline: Deadline,
) -> FileBundle:
    """The files the call names, read within their share of the deadline (an empty bundle for none)."""
    if not files:
        return FileBundle()
    roots = allowed_roots(await client_roots(ctx, deadline), app.settings)
    if not roots:
        raise without_roots(files, app.settings)
    project_root.set(str(roots[0]))  # where a CLI agent asked in this call runs (ai/cli/client.py)
    return await read_files(
        files,
        roots,
        budget_tokens=files_budget(route.config.context_window for route in routes),
        max_file_tokens=app.settings.max_file_tokens,
        known=thread.known_files(routes),
        secret_files=[app.settings.source] if app.settings.source is not None else [],
        timeout_s=deadline.remaining() * FILES_DEADLINE_SHARE,
    )
