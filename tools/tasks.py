"""Long calls as tasks (the Tasks extension, `io.modelcontextprotocol/tasks`, SEP-2663), for the clients that
declare it in a 2026-07-28 request's capabilities: a call that hands off (tools/handoff.py) answers with a task
instead of the job_id text, and the task is the job (the same id, the same store, the same owner rule as
`jobs`). Through the mcp SDK's extension mechanism (mcp/server/extension.py), wired in serve/main.py:

    tools/call  (client declares the extension)  → ends before handoff_s: the result, as always
                                                  → still running at handoff_s: {"resultType": "task", "taskId", ...}
    tasks/get     {"taskId"}  → working | completed (with the tool's result) | failed | cancelled
    tasks/cancel  {"taskId"}  → {} (the job stopped: its provider requests closed, reservations released)
    tasks/update  {"taskId"}  → {} (no task of ours ever waits for input: any responses are ignored)

SEP-2663 has no tasks/list and no tasks/result (tasks/get carries the result); `jobs()` still lists them. A
client on the handshake (2025-11-25 and earlier) gets today's hand-off: the SDK's runner sieves a legacy
result to the core shapes, so a task handle cannot be sent there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, CallToolRequestParams, RequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from callers import Junior
from core.config import defaults
from tools.context import caller
from tools.handoff import AS_TASK, TaskSlot

if TYPE_CHECKING:
    from callers.jobs import Job
    from core.store.jobs import JobRecord, JobStatus  # the store's module imports SQLAlchemy: not at start-up

__all__ = ["POLL_INTERVAL_MS", "TASKS", "TaskParams", "Tasks", "declares_tasks", "task_of", "task_status"]

TASKS = "io.modelcontextprotocol/tasks"
POLL_INTERVAL_MS = 2_000  # a client polling tasks/get: AI answers take seconds, a job's heartbeat is 2 s
TTL_MS = int(defaults.JOB_TTL_S * 1000)  # a task is its job: kept as long
MODERN = frozenset(MODERN_PROTOCOL_VERSIONS)


class TaskParams(RequestParams):
    """The params of tasks/get, tasks/cancel and tasks/update: the task's id (inputResponses are ignored)."""

    task_id: str


def declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client takes a task for an answer: it declared the extension in its
    capabilities, on a protocol that can carry a task (2026-07-28: the request's own `_meta`)."""
    capabilities = ctx.session.client_capabilities
    declared = capabilities.extensions if capabilities is not None else None
    return ctx.protocol_version in MODERN and declared is not None and TASKS in declared


def task_status(job: JobStatus) -> str:
    """A job's status as a task's. A job that failed failed as a tool (its result says so, isError: the task
    completed), and one whose server stopped failed as a request (a JSON-RPC error): SEP-2663 keeps them apart."""
    if job == "running":
        return "working"
    if job in {"done", "failed"}:
        return "completed"
    return "cancelled" if job == "cancelled" else "failed"  # lost


def task_of(job: JobRecord) -> dict[str, Any]:
    """The task a job is, as tasks/get returns it (SEP-2663's DetailedTask): its status and, once it ended,
    the tool's result or the error."""
    task = _task(job.id, task_status(job.status), job.created, job.updated)
    if job.status == "done" and job.result is not None:
        task["result"] = json.loads(job.result)  # the tool's own CallToolResult, as a direct call returns it
    elif job.status == "failed":
        task["result"] = {"content": [{"type": "text", "text": job.error or "failed"}], "isError": True}
        task["statusMessage"] = job.error or "failed"
    elif job.status == "lost":
        message = "the server running it stopped before it finished: ask again"
        task["error"] = {"code": INTERNAL_ERROR, "message": message}
        task["statusMessage"] = message
    elif job.status == "cancelled":
        task["statusMessage"] = job.error or "cancelled"
    return task


class Tasks(Extension):
    """The Tasks extension: long calls answered as tasks that are jobs (see the module's docstring)."""

    identifier = TASKS

    def methods(self) -> Sequence[MethodBinding]:
        """tasks/get, tasks/cancel and tasks/update, on the protocol that carries tasks."""
        return [
            MethodBinding("tasks/get", TaskParams, self.get, protocol_versions=MODERN),
            MethodBinding("tasks/cancel", TaskParams, self.cancel, protocol_versions=MODERN),
            MethodBinding("tasks/update", TaskParams, self.update, protocol_versions=MODERN),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """A call from a client that declared the extension: if it hands off, its answer is the task."""
        if not declares_tasks(ctx):
            return await call_next(ctx)
        slot = TaskSlot()
        token = AS_TASK.set(slot)
        try:
            result = await call_next(ctx)
        finally:
            AS_TASK.reset(token)
        if slot.job is None:  # answered in time (or a tool that never hands off): the result itself
            return result
        return {"resultType": "task", **_created(slot.job)}

    async def get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        """tasks/get: the task's status, and its result once it ended.

        Raises:
            MCPError: the client did not declare the extension (-32021), or no such task of the caller's
                (-32602: it may have expired after 24 h).
        """
        return task_of(await self._job(ctx, params.task_id))

    async def cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        """tasks/cancel: stop the job (here, or at its replica's next heartbeat); an empty acknowledgement.

        Raises:
            MCPError: the client did not declare the extension, or no such task of the caller's.
        """
        require_client_extension(ctx, TASKS)
        app: Junior = ctx.lifespan_context
        found = await (await app.store()).jobs.cancel(params.task_id, owner=caller())
        if found is None:
            raise _unknown(params.task_id)
        if found.status == "cancelled" and (local := app.jobs.local(params.task_id)) is not None:
            local.cancel()
        return {}

    async def update(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        """tasks/update: our tasks never ask for input, so responses are ignored; an empty acknowledgement.

        Raises:
            MCPError: the client did not declare the extension, or no such task of the caller's.
        """
        await self._job(ctx, params.task_id)
        return {}

    async def _job(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> JobRecord:
        require_client_extension(ctx, TASKS)
        app: Junior = ctx.lifespan_context
        found = await (await app.store()).jobs.get(task_id, owner=caller())
        if found is None:
            raise _unknown(task_id)
        return found


def _created(job: Job) -> dict[str, Any]:
    """The task a call that just handed off is (it is in the store: tasks/get finds it from here on)."""
    now = datetime.now(UTC).timestamp()
    return _task(job.id, "working", now, now) | {"statusMessage": f"{job.tool} is running in the background"}


def _task(task_id: str, status: str, created: float, updated: float) -> dict[str, Any]:
    return {
        "taskId": task_id,
        "status": status,
        "createdAt": _iso(created),
        "lastUpdatedAt": _iso(updated),
        "ttlMs": TTL_MS,
        "pollIntervalMs": POLL_INTERVAL_MS,
    }


def _unknown(task_id: str) -> MCPError:
    message = f"Failed to retrieve task: no task {task_id!r} of yours (tasks are kept 24 h)"
    return MCPError(code=INVALID_PARAMS, message=message)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
