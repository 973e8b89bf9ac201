"""The hand-off: an AI-asking tool still running at `handoff_s` returns at once with the answers in so far
and a `job_id`; the call goes on as a job of the application (callers/jobs.py), and `jobs` (tools/jobs.py)
gives its result. With `background: true` it hands off at once. Clients cut a tool call at about 60 s
(Claude Desktop, Codex) or less (MCP_TOOL_TIMEOUT): a long council would otherwise come back as nothing.

The boundary (tools/boundary.py add_tool) applies it to every AI-asking tool, around the bounded tool:

    served = handing_off(tool, bounded, context)     # adds the `background` parameter

A call that ends before `handoff_s` returns (or fails) exactly as without it, and writes nothing.
"""

from __future__ import annotations

import contextvars
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent

from callers import AIResult, Junior
from callers.jobs import Job, JobFailed

__all__ = [
    "AS_TASK",
    "BACKGROUND",
    "BACKGROUND_PARAMETER",
    "Background",
    "TaskSlot",
    "handing_off",
    "handoff_result",
    "received_sections",
]

BACKGROUND = "background"
# No description: tools/list is paid for on every turn, and the hand-off's own text says what happened.
Background = bool | None  # None (left out) is False: an optional parameter costs the schema least
BACKGROUND_PARAMETER = inspect.Parameter(
    BACKGROUND, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Background
)
Served = Callable[..., Awaitable[CallToolResult]]


class TaskSlot:
    """Where a call whose client takes tasks (tools/tasks.py) is told which job it handed off to."""

    def __init__(self) -> None:
        self.job: Job | None = None


# Set by the Tasks extension around a tools/call whose client declared it: the SDK's interceptor cannot
# change the tool's arguments, so the hand-off learns through the call's context that it answers as a task.
AS_TASK: contextvars.ContextVar[TaskSlot | None] = contextvars.ContextVar("junior_as_task", default=None)


def handing_off(tool: str, run: Served, context: str) -> Served:
    """`run` (a tool behind the boundary, whose request context is the argument `context`) as a job that
    hands off at `handoff_s`, or at once when called with `background=True`."""

    async def served(**arguments: Any) -> CallToolResult:
        background = bool(arguments.pop(BACKGROUND, False))
        app: Junior = arguments[context].request_context.lifespan_context
        token = get_access_token()  # who is asking: the job is theirs, as a thread is
        owner = token.client_id if token is not None else None

        async def work() -> CallToolResult:
            try:
                return await run(**arguments)
            except ToolError as error:  # the call failed as a whole: the job did
                raise JobFailed(str(error)) from error

        def encode(result: CallToolResult) -> str:
            dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
            return json.dumps(app.redactor.clean_data(dumped))  # nothing secret reaches the store

        job = app.jobs.start(tool, owner, work, encode)
        try:
            with anyio.move_on_after(0 if background else app.settings.handoff_s):
                await job.finished.wait()
            if job.finished.is_set() or not await app.jobs.hand_off(job):
                await job.finished.wait()  # ended in time, or the store cannot keep it: answer as a direct call
                return outcome(job)
        except anyio.get_cancelled_exc_class():
            if not job.handed_off:  # the request was cancelled before the hand-off: nobody can get the result
                job.cancel()
            raise
        if (slot := AS_TASK.get()) is not None:
            slot.job = job  # the extension answers with the task instead of the text below
        return handoff_result(job, app.settings.handoff_s if not background else 0.0)

    return served


def outcome(job: Job) -> CallToolResult:
    """A finished job's result as the tool returns it directly, or its error raised as the tool's.

    Raises:
        ToolError: the call failed (the tool's own error), or was cancelled.
    """
    if job.status == "done":
        result: CallToolResult = job.value
        return result
    if isinstance(job.error, JobFailed) and isinstance(job.error.__cause__, ToolError):
        raise job.error.__cause__
    raise ToolError(f"{job.tool} was cancelled before it finished")


def handoff_result(job: Job, after_s: float) -> CallToolResult:
    """What a call that handed off returns: the answers received so far (marked as such), the job_id, and
    the one line that tells the host how to get the rest."""
    received = list(job.received)
    when = f"after {after_s:g} s" if after_s else "at once (background)"
    lines = [f"{job.tool} is still running: it handed off {when} and goes on in the background."]
    if received:
        lines.append(received_sections(received))
    lines.append(f"---\njob_id: {job.id}")
    lines.append(f'Call the jobs tool with job_id "{job.id}" to wait for the whole result.')
    structured = {
        "job_id": job.id,
        "status": "running",
        "tool": job.tool,
        "received": [result.model_dump(mode="json") for result in received],
    }
    return CallToolResult(content=[TextContent(type="text", text="\n\n".join(lines))], structured_content=structured)


def received_sections(received: list[AIResult]) -> str:
    """The answers a running job has received so far, each marked as received before the call finished."""
    sections = ["Received so far (the call is not finished; more may come):"]
    for result in received:
        if result.ok:
            sections.append(
                f"## {result.ai} ({result.model}, {result.latency_s:.1f} s, received so far)\n{result.text}"
            )
        else:
            sections.append(f"## {result.ai} ({result.model}) failed: {result.error_kind}\n{result.error}")
    return "\n\n".join(sections)
