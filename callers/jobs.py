"""Jobs: calls that go on in the background once they handed off (tools/handoff.py), owned by the
application rather than by the request that started them.

    job = app.jobs.start("ask_all_ais", owner, work, encode)   # runs at once, in a task of its own
    with anyio.move_on_after(app.settings.handoff_s):
        await job.finished.wait()
    if not job.finished.is_set():
        await app.jobs.hand_off(job)                            # its row in the store: any replica answers

A job that finishes before it hands off never touches the store. Once handed off, the process running it
says it is alive every JOB_HEARTBEAT_S (core/store/jobs.py reads a silent one as lost) and writes what
it has received so far (the fan-out tells it each AI's result: `received`); a job cancelled through
another replica is stopped at the next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from callers.result import AIResult
from core.config import defaults
from core.errors import StoreUnavailable
from core.redact import Redactor

if TYPE_CHECKING:
    from core.store.database import Store
    from core.store.jobs import JobStatus

__all__ = ["Job", "JobFailed", "RunningJobs", "received"]

logger = logging.getLogger("junior_ai.jobs")

CLOSE_S = 1.0  # closing waits this long for the jobs it cancelled to record that they were lost

# The job the current task runs in, if any (set in the job's own task; its context is its own).
_CURRENT: contextvars.ContextVar[Job | None] = contextvars.ContextVar("junior_job", default=None)


def received(result: AIResult) -> None:
    """Tell the job this call runs in, if any, that one AI's result is in (the fan-out calls this as each
    AI finishes), so that a hand-off and `jobs` can show the answers received so far."""
    job = _CURRENT.get()
    if job is not None:
        job.received.append(result)
        job.dirty = True


class JobFailed(Exception):
    """What a job's work raises when the call failed as a whole (the tool's error); the error itself is
    its `__cause__`, and its message is what the job's status shows."""


class Job:
    """One call running as a job in this process.

    Attributes:
        id: The job's id (as the store and `jobs` know it).
        tool: The tool that was called.
        owner: Who called it (over HTTP, the token's name; None over stdio).
        received: Each AI's result as it came in.
        finished: Set once the work ended (answered, failed or cancelled).
        stored: Set once its end is in the store, or once nothing more will be written (never handed off).
        handed_off: Whether its row is in the store.
        status: "running", then "done", "failed", "cancelled" or "lost" (the server stopped).
        value: What the work returned, once done.
        error: What it raised (JobFailed, or the cancellation), once it ended otherwise.
    """

    def __init__(self, tool: str, owner: str | None) -> None:
        self.id = uuid.uuid4().hex
        self.tool = tool
        self.owner = owner
        self.received: list[AIResult] = []
        self.dirty = False  # received results not yet written to the store
        self.finished = anyio.Event()
        self.stored = anyio.Event()
        self.registered = anyio.Event()  # the hand-off's write is over (done or failed): its end may follow
        self.handed_off = False
        self.status: JobStatus = "running"
        self.value: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        """Stop the work (its provider requests are closed upstream, its reservations released)."""
        if self.task is not None and not self.finished.is_set():
            self.task.cancel()


class RunningJobs:
    """The jobs this process runs (`Junior.jobs`), their heartbeat, and what they write to the store."""

    def __init__(
        self,
        store: Callable[[], Awaitable[Store]],
        redactor: Redactor,
        *,
        heartbeat_s: float = defaults.JOB_HEARTBEAT_S,
    ) -> None:
        self._store = store
        self._redactor = redactor
        self.heartbeat_s = heartbeat_s
        self._jobs: dict[str, Job] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._closing = False

    def start(
        self, tool: str, owner: str | None, work: Callable[[], Awaitable[Any]], encode: Callable[[Any], str]
    ) -> Job:
        """Run `work` as a job, at once, in a task of its own that no cancellation of the caller reaches.
        `encode` turns what it returns into the JSON the store keeps (once handed off)."""
        job = Job(tool, owner)
        self._jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job, work, encode), name=f"job {job.id}")
        return job

    def local(self, job_id: str) -> Job | None:
        """The job `job_id` if this process runs it (or ran it, until its end is stored)."""
        return self._jobs.get(job_id)

    async def hand_off(self, job: Job) -> bool:
        """Put the running `job` in the store, so that it is found by id from here on; False when the store
        cannot be written (the caller then waits for the job as for a direct call)."""
        if job.finished.is_set():
            return False
        job.handed_off = True
        try:
            store = await self._store()
            await store.jobs.create(job.id, tool=job.tool, owner=job.owner, received=self._received(job))
        except StoreUnavailable as error:
            logger.warning("job %s could not be handed off (%s): answering when it is done", job.id, error)
            job.handed_off = False
            return False
        finally:
            job.dirty = False
            job.registered.set()
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat(), name="jobs heartbeat")
        return True

    async def aclose(self) -> None:
        """Stop every job (a handed-off one is recorded as lost: the server stopped) and the heartbeat."""
        self._closing = True
        tasks = [job.task for job in self._jobs.values() if job.task is not None and not job.task.done()]
        for task in tasks:
            task.cancel()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            tasks.append(self._heartbeat)
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_S)

    async def _run(self, job: Job, work: Callable[[], Awaitable[Any]], encode: Callable[[Any], str]) -> None:
        _CURRENT.set(job)
        result = error = None
        try:
            job.value = await work()
            job.status = "done"
            result = encode(job.value)
        except JobFailed as failure:
            job.status, job.error, error = "failed", failure, str(failure)
        except asyncio.CancelledError as cancelled:
            job.status, job.error = ("lost" if self._closing else "cancelled"), cancelled
            error = "the server stopped before it finished" if self._closing else "cancelled by the caller"
        finally:
            job.finished.set()
        try:
            if job.handed_off:
                with anyio.CancelScope(shield=True):  # its end must reach the store, even while closing
                    await job.registered.wait()  # after its row, never before
                    if job.handed_off:
                        await self._finish(job, result, error)
        finally:
            job.stored.set()
            self._jobs.pop(job.id, None)

    async def _finish(self, job: Job, result: str | None, error: str | None) -> None:
        try:
            store = await self._store()
            if job.dirty:
                await store.jobs.received(job.id, self._received(job))
            await store.jobs.finish(job.id, job.status, result=result, error=error)
        except StoreUnavailable as failure:  # its heartbeat stops: it will read as lost
            logger.warning("job %s ended (%s) but the store could not record it: %s", job.id, job.status, failure)

    async def _beat(self) -> None:
        """While jobs that handed off run here: say they are alive, write what they received, and stop
        those cancelled through another replica."""
        while running := [job for job in self._jobs.values() if job.handed_off and not job.finished.is_set()]:
            await asyncio.sleep(self.heartbeat_s)
            try:
                store = await self._store()
                for job in running:
                    if job.dirty and not job.finished.is_set():
                        job.dirty = False
                        await store.jobs.received(job.id, self._received(job))
                alive = await store.jobs.beat([job.id for job in running if not job.finished.is_set()])
            except StoreUnavailable as error:
                logger.warning("jobs heartbeat: %s", error)
                continue
            for job in running:
                if job.id not in alive:
                    job.cancel()  # cancelled elsewhere (or given up for lost): nobody will read its end

    def _received(self, job: Job) -> str:
        return json.dumps(self._redactor.clean_data([result.model_dump(mode="json") for result in job.received]))
