"""Jobs in the store: calls that handed off (tools/handoff.py) and go on in the background, so that any
replica can say how one is doing and give its result.

    await store.jobs.create(job_id, tool="ask_all_ais", owner="alice")
    await store.jobs.beat([job_id])                       # the process running it is alive
    await store.jobs.finish(job_id, "done", result=json_text)
    job = await store.jobs.get(job_id, owner="alice")     # None: no such job, or not alice's

A job's status is "running", then "done", "failed" or "cancelled"; a running job whose process stopped
saying it is alive (`heartbeat`) for `lost_after_s` is read as "lost", never running forever. A job's row
is kept JOB_TTL_S after it started. Its owner (over HTTP, the caller's token name) alone may read or cancel
it, as with threads; owner None (stdio, one user) sees every job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.config import defaults
from core.store.schema import jobs as jobs_table
from core.store.text import decode_text, encode_text, possible_thread_id
from core.store.threads import Transactions

__all__ = ["FINISHED", "MAX_LISTED", "JobRecord", "JobStatus", "Jobs"]

JobStatus = Literal["running", "done", "failed", "cancelled", "lost"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled", "lost"})
MAX_LISTED = 50  # jobs one listing returns, at most


@dataclass(frozen=True)
class JobRecord:
    """One job as stored: its status (a silent running job read as "lost"), what it had received so far
    (JSON, the AIs' results), and once finished its result (JSON, the tool's result) or its error."""

    id: str
    owner: str | None
    tool: str
    status: JobStatus
    created: float
    updated: float
    received: str | None
    result: str | None
    error: str | None


class Jobs:
    """The job queries of one open store (`Store.jobs`)."""

    def __init__(
        self, store: Transactions, *, lost_after_s: float = defaults.JOB_LOST_AFTER_S, ttl_s: float = defaults.JOB_TTL_S
    ) -> None:
        self._store = store
        self.lost_after_s = lost_after_s
        self.ttl_s = ttl_s

    async def create(self, job_id: str, *, tool: str, owner: str | None, received: str | None = None) -> None:
        """A running job, alive as of now.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        now = self._store.clock()
        row = {
            "id": job_id,
            "owner": owner,
            "tool": tool,
            "status": "running",
            "created": now,
            "updated": now,
            "heartbeat": now,
            "expires": now + self.ttl_s,
            "received": _encoded(received),
        }

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(insert(jobs_table).values(row))

        await self._store.batched(write)

    async def beat(self, job_ids: Sequence[str]) -> set[str]:
        """Say that this process still runs `job_ids`; returns those still running in the store (a job
        cancelled through another replica is not: its runner stops it).

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        if not job_ids:
            return set()
        statement = (
            update(jobs_table)
            .where(jobs_table.c.id.in_(list(job_ids)), jobs_table.c.status == "running")
            .values(heartbeat=self._store.clock())
            .returning(jobs_table.c.id)
        )

        async def write(conn: AsyncConnection) -> set[str]:
            return set((await conn.execute(statement)).scalars())

        return await self._store.batched(write)

    async def received(self, job_id: str, received: str) -> None:
        """What a running job has received so far (JSON).

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        await self._update(job_id, received=_encoded(received))

    async def finish(
        self, job_id: str, status: JobStatus, *, result: str | None = None, error: str | None = None
    ) -> bool:
        """End a running job with `status` and its result or error; False when it was no longer running
        (cancelled meanwhile): a finished job never changes.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        return await self._update(job_id, status=status, result=_encoded(result), error=_encoded(error))

    async def cancel(self, job_id: str, *, owner: str | None) -> JobRecord | None:
        """Mark `owner`'s running job cancelled (the process running it stops it at its next heartbeat, or
        at once when it is this one); returns the job as it now is, or None when there is no such job.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        if not possible_thread_id(job_id):
            return None
        now = self._store.clock()
        statement = (
            update(jobs_table)
            .where(
                jobs_table.c.id == job_id,
                _owned_by(owner),
                jobs_table.c.status == "running",
                jobs_table.c.heartbeat >= now - self.lost_after_s,
            )
            .values(status="cancelled", updated=now, error="cancelled by the caller")
        )

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._store.batched(write)
        return await self.get(job_id, owner=owner)

    async def get(self, job_id: str, *, owner: str | None) -> JobRecord | None:
        """`owner`'s job `job_id` (None: no such job, or expired, or another caller's).

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        if not possible_thread_id(job_id):
            return None
        found = await self._select(jobs_table.c.id == job_id, owner=owner, limit=1)
        return found[0] if found else None

    async def recent(self, *, owner: str | None, limit: int = 20) -> list[JobRecord]:
        """`owner`'s latest jobs, newest first, without their results.

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        return await self._select(true(), owner=owner, limit=min(limit, MAX_LISTED), whole=False)

    async def purge_expired(self) -> int:
        """Delete the jobs kept long enough; returns how many.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        async with self._store.write() as conn:
            deleted = await conn.execute(delete(jobs_table).where(jobs_table.c.expires < self._store.clock()))
        return deleted.rowcount or 0

    async def _update(self, job_id: str, **values: Any) -> bool:
        now = self._store.clock()
        statement = (
            update(jobs_table)
            .where(jobs_table.c.id == job_id, jobs_table.c.status == "running")
            .values(updated=now, heartbeat=now, **values)
        )

        async def write(conn: AsyncConnection) -> bool:
            return bool((await conn.execute(statement)).rowcount)

        return await self._store.batched(write)

    async def _select(self, where: Any, *, owner: str | None, limit: int, whole: bool = True) -> list[JobRecord]:
        columns = list(jobs_table.c) if whole else [c for c in jobs_table.c if c.name not in {"result", "received"}]
        query = (
            select(*columns)
            .where(where, jobs_table.c.expires >= self._store.clock(), _owned_by(owner))
            .order_by(jobs_table.c.created.desc())
            .limit(limit)
        )
        async with self._store.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        now = self._store.clock()
        return [self._record(row, now) for row in rows]

    def _record(self, row: Any, now: float) -> JobRecord:
        status = row["status"]
        if status == "running" and row["heartbeat"] < now - self.lost_after_s:
            status = "lost"  # its process stopped saying it is alive: it died, and the job with it
        return JobRecord(
            id=row["id"],
            owner=row["owner"],
            tool=row["tool"],
            status=status,
            created=row["created"],
            updated=row["updated"],
            received=_decoded(row.get("received")),
            result=_decoded(row.get("result")),
            error=_decoded(row.get("error")),
        )


def _owned_by(owner: str | None) -> Any:
    """Only `owner`'s jobs (over HTTP, each caller sees their own); None: every job (one user)."""
    return true() if owner is None else jobs_table.c.owner == owner


def _encoded(text: str | None) -> str | None:
    return encode_text(text) if text is not None else None


def _decoded(text: str | None) -> str | None:
    return decode_text(text) if text is not None else None
