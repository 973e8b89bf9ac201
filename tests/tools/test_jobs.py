"""The hand-off and the jobs tool through the real MCP client, on SQLite and PostgreSQL: a fan-out still
running at `handoff_s` returns the answer already in and a job_id, and `jobs` brings the whole result, the
same as a direct call's, recorded in the thread and the ledger; `background` hands off at once; a call that
ends in time is answered directly and leaves no job; a job can be cancelled, its request closed upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from core.config.settings import Settings
from core.store.database import Store
from core.store.url import store_url
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio
DEADLINE_S = 30
HANDOFF_S = 1.5
SLOW_S = 6.0  # the slow AI: well past the hand-off


@pytest.fixture(params=["sqlite", "postgresql"])
def handing(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    """`settings` handing off after HANDOFF_S, with the store on SQLite, then on PostgreSQL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'store' / 'junior.db'}"
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.url(server.create_database())
    patient = {name: ai.model_copy(update={"timeout": DEADLINE_S}) for name, ai in settings.ais.items()}
    return settings.model_copy(update={"handoff_s": HANDOFF_S, "database_url": url, "ais": patient})


async def warm(client: Client) -> None:
    """The store open, both SDKs loaded and their clients connected: a first call takes seconds on a busy
    machine, and may hand off itself (then its job is waited for)."""
    with anyio.fail_after(DEADLINE_S):
        first = await client.call_tool("ask_all_ais", {"prompt": "warm up", "ais": ["gemini", "grok"]})
        if job_id := (first.structured_content or {}).get("job_id"):
            await client.call_tool("jobs", {"job_id": job_id, "wait_s": DEADLINE_S})


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    return result.structured_content or {}


async def test_a_long_fan_out_hands_off_with_the_fast_answer_and_jobs_brings_both(
    fake: FakeProvider, handing: Settings
) -> None:
    arguments = {"prompt": "How should the importer retry?", "ais": ["gemini", "grok"]}
    async with Client(build_server(handing)) as client:
        await warm(client)
        fake.behave("gemini", text="Fast: use a queue.")
        fake.behave("grok", text="Slow: use a queue too.", latency=SLOW_S)
        with anyio.fail_after(SLOW_S - 1):  # long before the slow AI answers
            handed = await client.call_tool("ask_all_ais", arguments)
        job = structured(handed)
        job_id = job["job_id"]
        assert (job["status"], job["tool"]) == ("running", "ask_all_ais")
        assert [(r["ai"], r["text"]) for r in job["received"]] == [("gemini", "Fast: use a queue.")]
        text = text_of(handed)
        assert "Fast: use a queue." in text and "received so far" in text and "Slow" not in text
        assert f"job_id: {job_id}" in text and f'Call the jobs tool with job_id "{job_id}"' in text
        with anyio.fail_after(DEADLINE_S):
            done = await client.call_tool("jobs", {"job_id": job_id, "wait_s": DEADLINE_S})
    whole = structured(done)
    assert (whole["job_id"], whole["status"], whole["succeeded"]) == (job_id, "done", 2)
    assert [r["text"] for r in whole["results"]] == ["Fast: use a queue.", "Slow: use a queue too."]
    assert "Slow: use a queue too." in text_of(done) and "Fast: use a queue." in text_of(done)
    thread = whole["continuation_id"]
    assert f"continuation_id: {thread}" in text_of(done), "the same text as a direct call's"
    async with Store(store_url(handing)) as store:
        turns = await store.threads.turns(thread)
        ledger = await store.ledger.spend(since=0)
    assert [(t.role, t.ai, t.text) for t in turns] == [
        ("user", None, "How should the importer retry?"),
        ("assistant", "gemini", "Fast: use a queue."),
        ("assistant", "grok", "Slow: use a queue too."),
    ]
    assert {row.ai: row.calls for row in ledger} == {"gemini": 2, "grok": 2}, "the warm-up call, then this one"


async def test_background_hands_off_at_once_and_the_result_is_the_direct_calls(
    fake: FakeProvider, handing: Settings
) -> None:
    fake.behave("grok", latency=0.5)
    patient = handing.model_copy(update={"handoff_s": DEADLINE_S})  # the direct call is direct, however busy
    async with Client(build_server(patient)) as client:
        with anyio.fail_after(DEADLINE_S):
            direct = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"})
            handed = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "background": True})
            job_id = structured(handed)["job_id"]
            done = await client.call_tool("jobs", {"job_id": job_id})
            listed = await client.call_tool("jobs", {})
    assert "at once (background)" in text_of(handed)
    whole = structured(done)
    assert whole["status"] == "done"
    assert text_of(done).split("\n\n", 1)[1].split("continuation_id")[0] == text_of(direct).split("continuation_id")[0]
    assert {key: value for key, value in whole.items() if key not in {"job_id", "status", "continuation_id"}} == {
        key: value for key, value in structured(direct).items() if key not in {"continuation_id", "latency_s"}
    } | {"latency_s": whole["latency_s"]}
    assert [job["job_id"] for job in structured(listed)["jobs"]] == [job_id]


async def test_a_call_that_ends_before_handoff_s_is_answered_directly_and_leaves_no_job(
    fake: FakeProvider, handing: Settings
) -> None:
    fake.behave("grok", status=401)
    patient = handing.model_copy(update={"handoff_s": DEADLINE_S})
    async with Client(build_server(patient)) as client:
        with anyio.fail_after(DEADLINE_S):
            answered = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"})
            refused = await client.call_tool("ask_ai", {"ai": "nobody", "prompt": "hi"})
            listed = await client.call_tool("jobs", {})
    assert answered.is_error and "job_id" not in (answered.structured_content or {})
    assert refused.is_error and "nobody" in text_of(refused)
    assert structured(listed)["jobs"] == []


async def test_cancelling_a_job_closes_its_request_upstream(fake: FakeProvider, handing: Settings) -> None:
    fake.behave("grok", latency=60)
    async with Client(build_server(handing)) as client:
        with anyio.fail_after(DEADLINE_S):
            handed = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "background": True})
            job_id = structured(handed)["job_id"]
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, float(DEADLINE_S))
            cancelled = await client.call_tool("jobs", {"job_id": job_id, "action": "cancel"})
            assert await anyio.to_thread.run_sync(fake.wait_for_idle, "grok", float(DEADLINE_S))
            after = await client.call_tool("jobs", {"job_id": job_id, "wait_s": 0})
    assert structured(cancelled)["status"] == structured(after)["status"] == "cancelled"


async def test_an_unknown_job_is_a_clear_error(handing: Settings) -> None:
    async with Client(build_server(handing)) as client:
        with anyio.fail_after(DEADLINE_S):
            unknown = await client.call_tool("jobs", {"job_id": "0" * 32})
            cancel = await client.call_tool("jobs", {"action": "cancel"})
            too_long = await client.call_tool("jobs", {"job_id": "x", "wait_s": 500})
    assert unknown.is_error and "no job '0000" in text_of(unknown) and "jobs() lists yours" in text_of(unknown)
    assert cancel.is_error and "needs the job_id" in text_of(cancel)
    assert too_long.is_error and "50" in text_of(too_long)


async def test_a_job_cancelled_through_another_server_is_stopped_by_the_one_running_it(
    fake: FakeProvider, handing: Settings
) -> None:
    fake.behave("grok", latency=60)
    async with Client(build_server(handing)) as running, Client(build_server(handing)) as other:
        with anyio.fail_after(DEADLINE_S):
            handed = await running.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "background": True})
            job_id = structured(handed)["job_id"]
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, float(DEADLINE_S))
            cancelled = await other.call_tool("jobs", {"job_id": job_id, "action": "cancel"})
            # The running server hears it at its next heartbeat and closes the request upstream.
            assert await anyio.to_thread.run_sync(fake.wait_for_idle, "grok", float(DEADLINE_S))
            after = await running.call_tool("jobs", {"job_id": job_id, "wait_s": 0})
    assert structured(cancelled)["status"] == structured(after)["status"] == "cancelled"


async def test_a_server_that_stops_records_its_running_jobs_as_lost(fake: FakeProvider, handing: Settings) -> None:
    fake.behave("grok", latency=60)
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(handing)) as client:
            handed = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "background": True})
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, float(DEADLINE_S))
        async with Store(store_url(handing)) as store:  # the server has stopped
            job = await store.jobs.get(structured(handed)["job_id"], owner=None)
    assert job is not None and (job.status, job.error) == ("lost", "the server stopped before it finished")
