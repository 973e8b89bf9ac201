"""Jobs in the store, on SQLite and PostgreSQL: a job runs, then ends once and never changes again; a running
job nobody says is alive reads as lost; a job is its owner's alone; jobs expire after a day."""

from __future__ import annotations

import anyio
import pytest

from core.config import defaults
from core.store.database import Store

pytestmark = pytest.mark.anyio
DEADLINE_S = 30


async def test_a_job_runs_then_ends_once_with_its_result(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store:
            await store.jobs.create("j1", tool="ask_all_ais", owner="alice", received='[{"ai": "gemini"}]')
            running = await store.jobs.get("j1", owner="alice")
            assert await store.jobs.finish("j1", "done", result='{"content": []}')
            assert not await store.jobs.finish("j1", "failed", error="late"), "a finished job never changes"
            done = await store.jobs.get("j1", owner="alice")
    assert running is not None and (running.status, running.tool, running.received) == (
        "running",
        "ask_all_ais",
        '[{"ai": "gemini"}]',
    )
    assert done is not None and (done.status, done.result, done.error) == ("done", '{"content": []}', None)


async def test_a_running_job_whose_heartbeat_stopped_reads_as_lost(url: str) -> None:
    now = [1_000.0]
    async with Store(url, clock=lambda: now[0]) as store:
        await store.jobs.create("alive", tool="ask_ai", owner=None)
        await store.jobs.create("dead", tool="ask_ai", owner=None)
        now[0] += defaults.JOB_LOST_AFTER_S - 1
        assert await store.jobs.beat(["alive", "dead", "unknown"]) == {"alive", "dead"}
        now[0] += defaults.JOB_LOST_AFTER_S - 1
        assert await store.jobs.beat(["alive"]) == {"alive"}
        now[0] += 2
        statuses = {job.id: job.status for job in await store.jobs.recent(owner=None)}
        cancelled = await store.jobs.cancel("dead", owner=None)
    assert statuses == {"alive": "running", "dead": "lost"}
    assert cancelled is not None and cancelled.status == "lost", "a lost job cannot be cancelled"


async def test_a_job_is_its_owners_alone(url: str) -> None:
    async with Store(url) as store:
        await store.jobs.create("mine", tool="ask_ai", owner="alice")
        assert await store.jobs.get("mine", owner="bob") is None
        assert await store.jobs.cancel("mine", owner="bob") is None
        assert await store.jobs.recent(owner="bob") == []
        assert [job.id for job in await store.jobs.recent(owner="alice")] == ["mine"]
        still = await store.jobs.get("mine", owner="alice")
        cancelled = await store.jobs.cancel("mine", owner="alice")
        assert await store.jobs.beat(["mine"]) == set(), "its runner hears it was cancelled"
    assert still is not None and still.status == "running"
    assert cancelled is not None and (cancelled.status, cancelled.error) == ("cancelled", "cancelled by the caller")


async def test_jobs_expire_after_a_day_and_are_purged(url: str) -> None:
    now = [1_000.0]
    async with Store(url, clock=lambda: now[0]) as store:
        await store.jobs.create("old", tool="ask_ai", owner=None)
        await store.jobs.finish("old", "done", result="{}")
        now[0] += defaults.JOB_TTL_S + 1
        await store.jobs.create("new", tool="ask_ai", owner=None)
        gone = await store.jobs.get("old", owner=None)
        purged = await store.jobs.purge_expired()
        listed = [job.id for job in await store.jobs.recent(owner=None)]
    assert (gone, purged, listed) == (None, 1, ["new"])


async def test_text_with_nul_is_kept_and_an_impossible_id_is_no_job(url: str) -> None:
    async with Store(url) as store:
        await store.jobs.create("j", tool="ask_ai", owner=None, received='["a\x00b"]')
        await store.jobs.finish("j", "failed", error="bad \x00 byte")
        job = await store.jobs.get("j", owner=None)
        assert await store.jobs.get("\x00", owner=None) is None
    assert job is not None and (job.received, job.error) == ('["a\x00b"]', "bad \x00 byte")
