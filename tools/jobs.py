"""The `jobs` tool: how a call that handed off (tools/handoff.py) is doing, its whole result once done,
the caller's recent jobs, and cancelling one. Jobs are in the store, so over HTTP any replica answers.

    jobs(job_id="…", wait_s=20)          → waits up to 20 s; the status, the answers in so far, or the result
    jobs()                               → the caller's recent jobs
    jobs(job_id="…", action="cancel")    → stops it (its provider requests closed, reservations released)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from callers import AIResult
from core.config import defaults
from core.errors import InvalidRequest
from tools.answer import Answer
from tools.boundary import add_tool
from tools.context import AppContext, app_of, caller
from tools.handoff import received_sections

if TYPE_CHECKING:
    from core.store.jobs import JobRecord  # the store's module imports SQLAlchemy: not at start-up

__all__ = ["JOB_POLL_S", "JobDone", "JobList", "JobSummary", "JobsResult", "jobs", "register", "render_job"]

JOB_POLL_S = 0.25  # a job run by another replica: its row is read this often while waiting
LISTED = 20  # jobs a listing shows
# Cancelling changes something; the tool talks to nothing outside.
MANAGES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)


class JobSummary(BaseModel):
    """One job in a listing."""

    job_id: str
    tool: str
    status: str
    started: str  # ISO 8601, UTC


class JobDone(BaseModel):
    """jobs's structured content for a done job: the tool's own, with `job_id` and `status` added."""

    model_config = ConfigDict(extra="allow")

    job_id: str
    status: str


class JobsResult(BaseModel):
    """jobs's structured content for a job not done: its status, what it received so far, its error."""

    job_id: str
    status: str
    tool: str
    received: list[dict[str, Any]]
    error: str | None = None


class JobList(BaseModel):
    """jobs's structured content for a listing: the caller's recent jobs, newest first."""

    jobs: list[JobSummary]


def render_job(job: JobRecord) -> Answer:
    """The answer for one job: once done, the tool's own text and structured content (the job named
    above it); otherwise its status, the answers received so far, its error."""
    if job.status == "done" and job.result is not None:
        result = json.loads(job.result)
        text = "\n".join(part.get("text", "") for part in result.get("content", []) if part.get("type") == "text")
        whole = JobDone(**{**(result.get("structuredContent") or {}), "job_id": job.id, "status": job.status})
        return Answer(f"Job {job.id} ({job.tool}): done.\n\n{text}", whole, failed=bool(result.get("isError")))
    received = [AIResult.model_validate(item) for item in json.loads(job.received or "[]")]
    lines = [f"Job {job.id} ({job.tool}): {job.status}."]
    if job.status == "running":
        lines[0] += f' Call jobs with job_id "{job.id}" again to wait for the rest.'
    elif job.status == "lost":
        lines[0] += " The server running it stopped before it finished: ask again."
    elif job.error:
        lines.append(job.error)
    if received:
        lines.append(received_sections(received))
    structured = JobsResult(
        job_id=job.id,
        status=job.status,
        tool=job.tool,
        received=[item.model_dump(mode="json") for item in received],
        error=job.error if job.status != "running" else None,
    )
    return Answer("\n\n".join(lines), structured, failed=job.status in {"failed", "lost"})


def render_listing(found: list[JobRecord]) -> Answer:
    """The caller's recent jobs, newest first, one line each."""
    summaries = [
        JobSummary(job_id=job.id, tool=job.tool, status=job.status, started=_iso(job.created)) for job in found
    ]
    if not summaries:
        return Answer("No jobs: a call hands off with a job_id when it runs long.", JobList(jobs=[]))
    lines = [f"- {s.job_id}: {s.tool}, {s.status}, started {s.started}" for s in summaries]
    return Answer("Recent jobs:\n" + "\n".join(lines), JobList(jobs=summaries))


async def jobs(
    ctx: AppContext,
    job_id: Annotated[str | None, Field(max_length=64)] = None,
    wait_s: Annotated[float | None, Field(ge=0, le=defaults.MAX_JOB_WAIT_S)] = None,
    action: Literal["status", "cancel"] | None = None,
) -> Answer:
    """A handed-off call's status, progress or result (waiting up to `wait_s`, default JOB_WAIT_S), its
    cancellation, or with no job_id the caller's recent jobs."""
    wait_s = defaults.JOB_WAIT_S if wait_s is None else wait_s
    app = app_of(ctx)
    store = await app.store()
    owner = caller()
    if job_id is None:
        if action == "cancel":
            raise InvalidRequest('action "cancel" needs the job_id of the job to cancel (jobs() lists yours)')
        return render_listing(await store.jobs.recent(owner=owner, limit=LISTED))
    found = await (
        store.jobs.cancel(job_id, owner=owner) if action == "cancel" else store.jobs.get(job_id, owner=owner)
    )
    if found is None:
        raise InvalidRequest(f"no job {job_id!r} of yours (it may have expired after 24 h): jobs() lists yours")
    local = app.jobs.local(job_id)
    if action == "cancel" and local is not None and found.status == "cancelled":
        local.cancel()
        wait_s = min(wait_s, defaults.JOB_HEARTBEAT_S)  # until its end is recorded, briefly
    if found.status == "running" or (action == "cancel" and local is not None):
        with anyio.move_on_after(wait_s):
            if local is not None:
                await local.stored.wait()
            else:  # another replica runs it: its row says when it is done
                while found is not None and found.status == "running":
                    await anyio.sleep(JOB_POLL_S)
                    found = await store.jobs.get(job_id, owner=owner)
        found = await store.jobs.get(job_id, owner=owner) or found
    if found is None:  # expired while waiting
        raise InvalidRequest(f"no job {job_id!r} of yours (it may have expired after 24 h): jobs() lists yours")
    return render_job(found)


def register(server: MCPServer) -> None:
    """Register the jobs tool on `server`."""
    add_tool(
        server,
        jobs,
        title="Jobs",
        description="Status/result of a handed-off call by job_id (waits wait_s); none: list yours.",
        annotations=MANAGES,
        hands_off=False,
    )


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
