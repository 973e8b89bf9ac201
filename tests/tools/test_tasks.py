"""Long calls as tasks (SEP-2663) through the mcp SDK's client on 2026-07-28, on SQLite and PostgreSQL: a
client that declares `io.modelcontextprotocol/tasks` gets a task for a call still running at `handoff_s`, and
tasks/get gives its status and then the tool's whole result; a call that ends in time is answered directly;
tasks/cancel stops it; a client that does not declare the extension gets the job_id hand-off as before, and
tasks/get is refused to it (-32021). The SDK's client has no Tasks support of its own: the extension here
is the SDK's `ClientExtension` with a `ResultClaim` on the `task` result type, and tasks/* are sent as
plain requests through its session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import anyio
import pytest
from mcp import Client, ClientSession
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, Request, RequestParams, Result

from core.config.settings import Settings
from core.store.jobs import JobStatus
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.tools.test_jobs import DEADLINE_S, SLOW_S, handing, structured, text_of, warm
from tools.tasks import task_status

__all__ = ["handing"]  # the fixture, shared with the jobs tests

pytestmark = pytest.mark.anyio
MODERN = "2026-07-28"
POLL_S = 0.1
ARGUMENTS = {"prompt": "How should the importer retry?", "ais": ["gemini", "grok"]}


class TaskCreated(Result):
    """CreateTaskResult: a tools/call answered with a task."""

    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None


class TaskState(Result):
    """tasks/get's answer (a DetailedTask)."""

    task_id: str
    status: str
    status_message: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class TaskId(RequestParams):
    task_id: str


class GetTask(Request[TaskId, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    name_param = "taskId"


class CancelTask(Request[TaskId, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    name_param = "taskId"


async def poll(session: ClientSession, task_id: str) -> TaskState:
    """tasks/get until the task is no longer working (as a client honouring pollIntervalMs would, faster)."""
    while True:
        state = await session.send_request(GetTask(params=TaskId(task_id=task_id)), TaskState)
        if state.status != "working":
            return state
        await anyio.sleep(POLL_S)


async def resolve(created: TaskCreated, ctx: ClaimContext) -> CallToolResult:
    """The claim's resolver: the task polled to its end, its result the tool call's."""
    state = await poll(ctx.session, created.task_id)
    assert state.result is not None, state
    return CallToolResult.model_validate(state.result)


class TasksClient(ClientExtension):
    """The client side of the Tasks extension: declared in every request, a task polled to its result."""

    identifier = "io.modelcontextprotocol/tasks"

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=TaskCreated, resolve=resolve)]


def tasks_client(settings: Settings) -> Client:
    return Client(build_server(settings), mode=MODERN, extensions=[TasksClient()])


async def test_a_client_that_declares_tasks_gets_a_task_for_a_long_call_and_its_result_through_tasks_get(
    fake: FakeProvider, handing: Settings
) -> None:
    async with tasks_client(handing) as client:
        await warm(client)
        fake.behave("gemini", text="Fast: use a queue.")
        fake.behave("grok", text="Slow: use a queue too.", latency=SLOW_S)
        with anyio.fail_after(SLOW_S - 1):  # long before the slow AI answers
            created = await client.session.call_tool("ask_all_ais", ARGUMENTS, allow_claimed=True)
            assert isinstance(created, TaskCreated), created
            working = await client.session.send_request(GetTask(params=TaskId(task_id=created.task_id)), TaskState)
        with anyio.fail_after(DEADLINE_S):
            done = await poll(client.session, created.task_id)
            as_job = await client.call_tool("jobs", {"job_id": created.task_id, "wait_s": 0})
    assert (created.status, working.status, done.status) == ("working", "working", "completed")
    assert created.poll_interval_ms and created.ttl_ms == 86_400_000
    result = CallToolResult.model_validate(done.result)
    assert not result.is_error
    assert "Fast: use a queue." in text_of(result) and "Slow: use a queue too." in text_of(result)
    assert [r["text"] for r in (result.structured_content or {})["results"]] == [
        "Fast: use a queue.",
        "Slow: use a queue too.",
    ]
    assert structured(as_job)["status"] == "done", "the task is the job: jobs knows it by the same id"


async def test_the_sdk_clients_call_tool_resolves_the_task_and_a_short_call_is_answered_directly(
    fake: FakeProvider, handing: Settings
) -> None:
    async with tasks_client(handing) as client:
        await warm(client)
        fake.behave("grok", text="Slow: use a queue too.", latency=SLOW_S)
        with anyio.fail_after(DEADLINE_S):
            resolved = await client.call_tool("ask_all_ais", ARGUMENTS)
            fake.behave("grok", text="Quick.")
            direct = await client.session.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"}, allow_claimed=True)
    assert isinstance(resolved, CallToolResult) and "Slow: use a queue too." in text_of(resolved)
    assert "job_id" not in text_of(resolved)
    assert isinstance(direct, CallToolResult) and "Quick." in text_of(direct)


async def test_tasks_cancel_stops_the_job_and_closes_its_request_upstream(
    fake: FakeProvider, handing: Settings
) -> None:
    fake.behave("grok", latency=60)
    async with tasks_client(handing) as client:
        with anyio.fail_after(DEADLINE_S):
            created = await client.session.call_tool(
                "ask_ai", {"ai": "grok", "prompt": "hi", "background": True}, allow_claimed=True
            )
            assert isinstance(created, TaskCreated), created
            assert await anyio.to_thread.run_sync(fake.wait_for_active, "grok", 1, float(DEADLINE_S))
            await client.session.send_request(CancelTask(params=TaskId(task_id=created.task_id)), Result)
            assert await anyio.to_thread.run_sync(fake.wait_for_idle, "grok", float(DEADLINE_S))
            after = await client.session.send_request(GetTask(params=TaskId(task_id=created.task_id)), TaskState)
            with pytest.raises(MCPError, match="no task '0000"):
                await client.session.send_request(GetTask(params=TaskId(task_id="0" * 32)), TaskState)
    assert after.status == "cancelled"


async def test_a_client_that_does_not_declare_tasks_gets_the_job_id_hand_off_and_no_tasks(
    fake: FakeProvider, handing: Settings
) -> None:
    fake.behave("grok", latency=0.5)
    async with Client(build_server(handing), mode=MODERN) as client:
        with anyio.fail_after(DEADLINE_S):
            handed = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "background": True})
            job_id = structured(handed)["job_id"]
            with pytest.raises(MCPError) as refused:
                await client.session.send_request(GetTask(params=TaskId(task_id=job_id)), TaskState)
            await client.call_tool("jobs", {"job_id": job_id, "wait_s": DEADLINE_S})
    assert f"job_id: {job_id}" in text_of(handed)
    assert refused.value.error.code == -32021 and "io.modelcontextprotocol/tasks" in refused.value.error.message


@pytest.mark.parametrize(
    ("job", "task"),
    [
        ("running", "working"),
        ("done", "completed"),
        ("failed", "completed"),  # the tool's error: a result with isError
        ("cancelled", "cancelled"),
        ("lost", "failed"),  # the server stopped: a JSON-RPC error
    ],
)
def test_a_jobs_status_is_its_tasks(job: JobStatus, task: str) -> None:
    assert task_status(job) == task
