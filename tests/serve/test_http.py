"""`serve --http`: a real server process on a loopback port, driven by the SDK's Streamable HTTP client,
plain HTTP requests and the MCP Inspector; bearer tokens, Host/Origin checks, the body limit, /healthz."""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, InputRequiredResult, ListRootsResult, PromptReference, Root
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from core.config.credentials import PROJECT_ROOT
from core.config.http import HttpSettings, identify, token_hash
from core.config.settings import settings_or_problems
from core.store.database import Store
from core.store.schema import ledger
from core.store.url import store_url
from serve.http.app import exposure_problem, is_loopback
from serve.http.auth import HashedTokens
from tests.fakes import FakeProvider
from tests.helpers import answer_of, closed_port, credentials_for, key_for, write_credentials
from tests.test_inspector import inspector_path, installed_inspector

pytestmark = pytest.mark.anyio

CANARY = "canary-token-7f3a9c1e5b2d4068aa91"  # the test's bearer token: it must appear in no log line
READY = "Uvicorn running on"  # uvicorn's INFO line once the socket is listening
START_S = 30.0


class HttpServer:
    """`python run.py serve --http` on a free loopback port, its stderr collected line by line; with
    `open_files`, the process may open that many file descriptors at most. One process (`--workers 1`)
    unless `workers` says otherwise: these tests pin one process's connection limit, descriptors, metrics
    and log lines, and the default is one worker per core."""

    def __init__(self, env: dict[str, str], *args: str, open_files: int | None = None, workers: int = 1) -> None:
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(PROJECT_ROOT / "run.py"), "serve", "--http", "--port", str(self.port)]
        command += ["--workers", str(workers), *args]
        limit = None if open_files is None else partial(resource.setrlimit, resource.RLIMIT_NOFILE, (open_files,) * 2)
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=limit
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._logged = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._logged:
                self.lines.append(line)
                self._logged.notify_all()
            if READY in line:
                self.ready.set()
        self.ready.set()  # the process ended: nobody waits in vain

    def wait_for_line(self, start: str, timeout: float) -> bool:
        """Block until a stderr line starts with `start` (call it from a worker thread)."""
        with self._logged:
            return self._logged.wait_for(lambda: any(line.startswith(start) for line in self.lines), timeout)

    def wait_for(self, matches: Callable[[str], bool], timeout: float) -> bool:
        """Block until a stderr line `matches` (call it from a worker thread)."""
        with self._logged:
            return self._logged.wait_for(lambda: any(matches(line) for line in self.lines), timeout)

    def wait_ready(self) -> None:
        assert self.ready.wait(START_S), "".join(self.lines)
        assert self.process.poll() is None, "".join(self.lines)
        assert httpx2.get(f"{self.url}/healthz", timeout=10).status_code == 200

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=15)
        self._reader.join(timeout=15)
        return "".join(self.lines)


def server_env(tmp_path: Path, credentials: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "JUNIOR_AI_CREDENTIALS": str(credentials),
        "JUNIOR_AI_LOG_LEVEL": "INFO",  # every access line too: the canary must be in none
        **extra,
    }


@pytest.fixture
def credentials(fake: FakeProvider, tmp_path: Path) -> Path:
    return write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok", "gemini")))


@pytest.fixture
def served(tmp_path: Path, credentials: Path) -> Iterator[HttpServer]:
    """A server whose one caller, alice, holds the canary token (configured by its hash only)."""
    server = HttpServer(server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)}"))
    try:
        server.wait_ready()
        yield server
    finally:
        log = server.stop()
        assert CANARY not in log, log
        assert "Traceback" not in log, log


async def test_the_sdk_client_with_the_token_lists_the_tools_and_asks_an_ai(served: HttpServer) -> None:
    headers = {"Authorization": f"Bearer {CANARY}"}
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(f"{served.url}/mcp", http_client=http)) as client:
                tools = await client.list_tools()
                answer = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "over http"})
    assert {"ask_ai", "ask_all_ais", "server_status"} <= {tool.name for tool in tools.tools}
    assert answer_of(answer.content[0].text) == "[grok:grok-3-mini] over http"  # type: ignore[union-attr]


async def test_the_prompts_render_and_their_ai_arguments_complete_over_http(served: HttpServer) -> None:
    headers = {"Authorization": f"Bearer {CANARY}"}
    council = PromptReference(type="ref/prompt", name="council")
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(f"{served.url}/mcp", http_client=http)) as client:
                prompts = await client.list_prompts()
                rendered = await client.get_prompt("second_opinion", {"ai": "grok"})
                completed = await client.complete(council, {"name": "chairman", "value": "g"})
    assert {prompt.name for prompt in prompts.prompts} == {"second_opinion", "council", "debate", "review_changes"}
    assert '`ask_ai` with ai="grok"' in rendered.messages[0].content.text  # type: ignore[union-attr]
    assert completed.completion.values == ["grok", "gemini"]  # as configured


async def test_healthz_answers_without_a_token_and_names_no_secret(served: HttpServer) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.get(f"{served.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ais": ["grok", "gemini"], "store": "ok"}
    assert "test-key" not in response.text and CANARY not in response.text


async def test_metrics_count_an_ask_ai_call_without_a_token_and_name_no_secret(served: HttpServer) -> None:
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {CANARY}"}, timeout=30) as http:
            async with Client(streamable_http_client(f"{served.url}/mcp", http_client=http)) as client:
                await client.call_tool("ask_ai", {"ai": "grok", "prompt": "count me"})
        async with httpx2.AsyncClient(timeout=30) as http:
            response = await http.get(f"{served.url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("junior_ai_requests_total", (("ai", "grok"),))] == 1
    assert samples[("junior_ai_successes_total", (("ai", "grok"),))] == 1
    assert samples[("junior_ai_requests_total", (("ai", "gemini"),))] == 0
    assert samples[("junior_ai_breaker_state", (("ai", "grok"),))] == 0
    assert samples[("junior_ai_concurrency_limit", (("ai", "grok"),))] >= 1
    assert ("junior_ai_latency_p50_seconds", (("ai", "grok"),)) in samples
    assert samples[("junior_ai_latency_seconds_count", (("ai", "grok"),))] == 1
    assert samples[("junior_ai_latency_seconds_bucket", (("ai", "grok"), ("le", "+Inf")))] == 1
    assert samples[("junior_ai_latency_seconds_bucket", (("ai", "gemini"), ("le", "+Inf")))] == 0
    assert samples[("junior_ai_cost_usd_total", (("ai", "grok"),))] > 0  # grok-3-mini is in genai-prices
    assert ("junior_ai_tokens_total", (("ai", "grok"), ("direction", "in"))) in samples
    assert samples[("junior_ai_ledger_behind", ())] == 0
    for secret in (key_for("grok"), key_for("gemini"), "test-key", CANARY, "http://127.0.0.1:"):
        assert secret not in response.text


async def test_metrics_can_be_turned_off(fake: FakeProvider, tmp_path: Path) -> None:
    body = {**credentials_for(fake, ("grok",)), "http": {"metrics": False}}
    server = HttpServer(server_env(tmp_path, write_credentials(tmp_path / "credentials.json", body)))
    try:
        server.wait_ready()
        async with httpx2.AsyncClient(timeout=30) as http:
            response = await http.get(f"{server.url}/metrics")
    finally:
        server.stop()
    assert response.status_code == 404


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no token"),
        pytest.param({"Authorization": "Bearer not-the-token-0123456789abcdef"}, 401, id="wrong token"),
        pytest.param({"Authorization": f"Basic {CANARY}"}, 401, id="not a bearer"),
        pytest.param({"Authorization": f"Bearer {CANARY}", "Origin": "http://evil.example"}, 403, id="bad origin"),
        pytest.param({"Authorization": f"Bearer {CANARY}", "Host": "evil.example"}, 421, id="bad host"),
        pytest.param({"Authorization": f"Bearer {CANARY}"}, 200, id="the token"),
    ],
)
async def test_mcp_requests_are_checked(served: HttpServer, headers: dict[str, str], status: int) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(f"{served.url}/mcp", json=LIST, headers={**ACCEPT, **headers})
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_request_from_an_allowed_origin_is_served(served: HttpServer) -> None:
    headers = {**ACCEPT, "Authorization": f"Bearer {CANARY}", "Origin": f"http://localhost:{served.port}"}
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(f"{served.url}/mcp", json=LIST, headers=headers)
    assert response.status_code == 200


async def test_an_oversized_body_is_answered_413(served: HttpServer) -> None:
    body = json.dumps({**LIST, "params": {"padding": "x" * (4 * 1024 * 1024 + 1)}})
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{served.url}/mcp", content=body, headers={**ACCEPT, "Authorization": f"Bearer {CANARY}"}
        )
    assert response.status_code == 413


def test_a_non_loopback_address_without_tokens_refuses_to_start(tmp_path: Path, credentials: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "serve", "--http", "--host", "0.0.0.0", "--port", "1"],
        env=server_env(tmp_path, credentials),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to serve on 0.0.0.0" in done.stderr
    assert "--new-token NAME" in done.stderr and "JUNIOR_AI_TOKENS" in done.stderr


def test_a_bad_token_entry_is_a_problem_naming_the_entry_and_stops_http(tmp_path: Path, credentials: Path) -> None:
    env = server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)},bob:{CANARY}")
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "serve", "--http", "--port", str(closed_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "bob: not a sha256 hex digest" in done.stderr
    assert CANARY not in done.stderr


def test_new_token_prints_a_token_and_the_line_to_paste() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "server.py"), "--new-token", "alice"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    token = lines[1]
    assert len(token) >= 43
    assert f'"alice": "{token_hash(token)}"' in done.stdout
    assert f'JUNIOR_AI_TOKENS="alice:{token_hash(token)}"' in done.stdout


def test_tokens_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    digest = token_hash(CANARY)
    path = write_credentials(tmp_path / "c.json", {"http": {"tokens": {"alice": digest.upper()}}})
    assert settings_or_problems(path, env={}).http.tokens == {"alice": digest}
    env = {"JUNIOR_AI_TOKENS": f"bob:{digest}"}
    assert settings_or_problems(path, env=env).http.tokens == {"bob": digest}


@pytest.mark.parametrize(
    ("tokens", "named"),
    [
        ({"alice": CANARY}, "alice: not a sha256 hex digest"),
        ({"a b": token_hash(CANARY)}, "'a b': a name is"),
        ({"alice": token_hash(CANARY), "bob": token_hash(CANARY)}, "bob: the same hash as another name"),
    ],
)
def test_a_bad_token_entry_is_named_and_no_token_is_shown(tmp_path: Path, tokens: dict[str, str], named: str) -> None:
    path = write_credentials(tmp_path / "c.json", {"http": {"tokens": tokens}})
    settings = settings_or_problems(path, env={})
    [problem] = settings.problems
    assert named in problem and CANARY not in problem
    assert settings.http == HttpSettings()


async def test_the_verifier_names_the_caller_and_refuses_others() -> None:
    verifier = HashedTokens({"alice": token_hash("a" * 43), "bob": hashlib.sha256(CANARY.encode()).hexdigest()})
    access = await verifier.verify_token(CANARY)
    assert access is not None and access.client_id == "bob"
    assert await verifier.verify_token("b" * 43) is None
    assert identify({}, CANARY) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert (exposure_problem(host, settings_or_problems(None, env={})) is None) is loopback


# -- the MCP Inspector over HTTP --------------------------------------------------------------------


def test_the_inspector_with_a_token_lists_and_calls_the_tools_over_http(served: HttpServer, tmp_path: Path) -> None:
    inspector = installed_inspector()

    def run(*method: str, token: str = CANARY) -> subprocess.CompletedProcess[str]:
        command = [str(inspector), "--cli", f"{served.url}/mcp", "--transport", "http"]
        return subprocess.run(
            [*command, "--header", f"Authorization: Bearer {token}", *method],
            capture_output=True,
            text=True,
            timeout=120,
            env={"HOME": str(tmp_path), "PATH": inspector_path()},
        )

    listed = run("--method", "tools/list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert {"ask_ai", "ask_all_ais", "server_status"} <= {tool["name"] for tool in json.loads(listed.stdout)["tools"]}
    called = run("--method", "tools/call", "--tool-name", "ask_ai", "--tool-arg", "ai=grok", "prompt=hi")
    assert called.returncode == 0, called.stdout + called.stderr
    assert answer_of(json.loads(called.stdout)["content"][0]["text"]) == "[grok:grok-3-mini] hi"
    refused = run("--method", "tools/list", token="not-the-token")
    assert refused.returncode != 0 and "invalid_token" in refused.stderr


BOB = "bobs-token-0a1b2c3d4e5f60718293a4b5"


async def test_each_caller_sees_and_continues_only_their_own_threads_and_is_named_in_the_ledger(
    tmp_path: Path, credentials: Path
) -> None:
    tokens = f"alice:{token_hash(CANARY)},bob:{token_hash(BOB)}"
    server = HttpServer(server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=tokens))
    try:
        server.wait_ready()
        with anyio.fail_after(60):
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {CANARY}"}, timeout=30) as alice_http,
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {BOB}"}, timeout=30) as bob_http,
                Client(streamable_http_client(f"{server.url}/mcp", http_client=alice_http)) as alice,
                Client(streamable_http_client(f"{server.url}/mcp", http_client=bob_http)) as bob,
            ):
                asked = await alice.call_tool("ask_ai", {"ai": "grok", "prompt": "alice's question"})
                thread = (asked.structured_content or {})["continuation_id"]
                hers = await alice.call_tool("threads", {})
                his = await bob.call_tool("threads", {})
                taken = await bob.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "continuation_id": thread})
                shown = await bob.call_tool("threads", {"action": "show", "thread_id": thread})
                continued = await alice.call_tool(
                    "ask_ai", {"ai": "grok", "prompt": "again", "continuation_id": thread}
                )
                await bob.call_tool("ask_ai", {"ai": "gemini", "prompt": "bob's own"})
                # A call's ledger row is written after its answer, off its path: polled, under fail_after.
                status = await bob.call_tool("server_status", {})
                while len(status.structured_content["spend"]["callers_today"]) < 2:  # type: ignore[index]
                    await anyio.sleep(0.05)
                    status = await bob.call_tool("server_status", {})
    finally:
        server.stop()
    assert [t["id"] for t in (hers.structured_content or {})["threads"]] == [thread]
    assert (his.structured_content or {})["threads"] == []
    assert taken.is_error and "no thread" in taken.content[0].text  # type: ignore[union-attr]
    assert shown.is_error and "no thread" in shown.content[0].text  # type: ignore[union-attr]
    assert not continued.is_error
    settings = settings_or_problems(credentials, {"XDG_DATA_HOME": str(tmp_path / "xdg-data")})
    async with Store(store_url(settings)) as store, store.read() as conn:
        callers = (await conn.execute(select(ledger.c.caller, ledger.c.thread_id))).all()
    assert sorted(map(tuple, callers))[:2] == [("alice", thread), ("alice", thread)], "bob's refused call cost nothing"
    assert sorted((row[0], row[1] == thread) for row in callers)[2:] == [("bob", False)]
    spent = {line["caller"]: line["calls"] for line in status.structured_content["spend"]["callers_today"]}  # type: ignore[index]
    assert spent == {"alice": 2, "bob": 1}
    text = status.content[0].text  # type: ignore[union-attr]
    assert "by caller today: alice $" in text and "; bob $" in text and "(1 call)" in text


# -- every tool, progress and cancellation through the SDK's Streamable HTTP client ------------------


@asynccontextmanager
async def http_client(served: HttpServer, token: str = CANARY) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(f"{served.url}/mcp", http_client=http)) as client:
            yield client


async def test_every_tool_answers_over_http(served: HttpServer) -> None:
    calls = {
        "ask_ai": {"ai": "grok", "prompt": "one"},
        "ask_all_ais": {"prompt": "all"},
        "ai_debate": {"topic": "tabs or spaces", "rounds": 1},
        "collaborative_solve": {"problem": "sum a list"},
        "ai_consensus": {"question": "which db?", "options": ["SQLite", "PostgreSQL"]},
        "server_status": {},
        "threads": {},
        "jobs": {},  # no job_id: the caller's recent jobs
    }
    with anyio.fail_after(60):
        async with http_client(served) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            results = {name: await client.call_tool(name, arguments) for name, arguments in calls.items()}
    assert listed == set(calls)
    for name, result in results.items():
        assert not result.is_error, (name, result.content)
        assert result.content and result.content[0].text, name  # type: ignore[union-attr]
    assert results["ask_all_ais"].structured_content["succeeded"] == 2  # type: ignore[index]


async def test_progress_reaches_an_http_client(served: HttpServer) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(f"{progress:g}/{total:g} {message}")

    with anyio.fail_after(60):
        async with http_client(served) as client:
            result = await client.call_tool("ask_all_ais", {"prompt": "progress"}, progress_callback=on_progress)
    assert not result.is_error
    # Progress notifications go out on the request's SSE stream before its response: all are here. One per
    # AI that answered (whole steps); a slow moment may add a note of the tokens streamed (a fraction).
    steps = [m.split(" ", 1)[0] for m in messages]
    assert [step for step in steps if float(step.split("/")[0]).is_integer()] == ["1/2", "2/2"], messages
    assert [float(step.split("/")[0]) for step in steps] == sorted(float(step.split("/")[0]) for step in steps)
    assert any("grok" in m for m in messages) and any("gemini" in m for m in messages)


async def test_a_client_that_gives_up_over_http_closes_the_requests_upstream(
    fake: FakeProvider, served: HttpServer
) -> None:
    for name in ("grok", "gemini"):
        fake.behave(name, latency=30)
    with anyio.fail_after(60):
        async with http_client(served) as client:
            with anyio.move_on_after(20):
                async with anyio.create_task_group() as group:
                    group.start_soon(client.call_tool, "ask_all_ais", {"prompt": "slow"})
                    assert await anyio.to_thread.run_sync(fake.wait_for_requests, 2, 15)
                    group.cancel_scope.cancel()
        assert await anyio.to_thread.run_sync(fake.wait_for_disconnects, 2, 10), "the provider requests ran on"
        fake.reset()
        async with http_client(served) as client:
            assert not (await client.call_tool("ask_ai", {"ai": "grok", "prompt": "next"})).is_error


async def test_over_http_a_2026_client_offers_its_roots_and_a_handshake_client_cannot(
    served: HttpServer, fake: FakeProvider, tmp_path: Path
) -> None:
    """The server is stateless over HTTP: on 2026-07-28 the roots ride an InputRequiredResult; on the handshake
    there is no back-channel to ask them, so (no allowed_roots here) files are refused with the fix."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "hello.py").write_text("print('hello over http')\n")
    (tmp_path / "diary.txt").write_text("never-sent-over-http\n")  # in the server's HOME, outside the project

    async def offering(_context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri(), name="project")])  # type: ignore[arg-type]

    results: dict[str, list[CallToolResult]] = {}
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {CANARY}"}, timeout=30) as http:
            for era in ("2026-07-28", "legacy"):
                transport = streamable_http_client(f"{served.url}/mcp", http_client=http)
                async with Client(transport, mode=era, list_roots_callback=offering) as client:
                    results[era] = [
                        await client.call_tool("ask_ai", {"ai": "grok", "prompt": era, "files": [path]})
                        for path in ("hello.py", "~/diary.txt")
                    ]
    (modern_inside, modern_home), (legacy_inside, legacy_home) = results["2026-07-28"], results["legacy"]
    assert not modern_inside.is_error, modern_inside.content
    assert modern_home.is_error and "outside the allowed roots" in text_of(modern_home)
    for refused in (legacy_inside, legacy_home):
        assert refused.is_error and "this client does not say its project folders" in text_of(refused)
    [sent] = fake.requests_for("grok")
    assert "hello over http" in sent.user and "never-sent" not in sent.user


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


SHARED_STATE_KEY = "a-request-state-key-both-replicas-share-0123456789"


@pytest.mark.parametrize("shared", [True, False])
async def test_a_roots_round_started_at_one_replica_finishes_at_another_only_with_a_shared_key(
    shared: bool, fake: FakeProvider, tmp_path: Path, credentials: Path
) -> None:
    """The 2026-07-28 roots round trip behind a balancer: the first round answered by one replica, the call
    sent again (with the roots and the sealed request_state) to another. Without `request_state_key` each
    replica seals with a key of its own, and the other refuses the state."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "hello.py").write_text("print('hello from either replica')\n")
    key = {"JUNIOR_AI_REQUEST_STATE_KEY": SHARED_STATE_KEY} if shared else {}
    env = server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)}", **key)
    replicas = [HttpServer(env), HttpServer(env)]
    arguments = {"ai": "grok", "prompt": "x", "files": ["hello.py"]}
    roots = ListRootsResult(roots=[Root(uri=project.as_uri(), name="project")])  # type: ignore[arg-type]

    async def offering(_context: object) -> ListRootsResult:
        return roots

    try:
        for replica in replicas:
            replica.wait_ready()
        with anyio.fail_after(60):
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {CANARY}"}, timeout=30) as http:
                transports = [streamable_http_client(f"{r.url}/mcp", http_client=http) for r in replicas]
                async with (
                    Client(transports[0], mode="2026-07-28", list_roots_callback=offering) as first,
                    Client(transports[1], mode="2026-07-28", list_roots_callback=offering) as second,
                ):
                    asked = await first.session.call_tool("ask_ai", arguments, allow_input_required=True)
                    assert isinstance(asked, InputRequiredResult), asked
                    answers = dict.fromkeys(asked.input_requests or {}, roots)
                    retry = second.session.call_tool(
                        "ask_ai",
                        arguments,
                        input_responses=answers,
                        request_state=asked.request_state,  # type: ignore[arg-type]
                    )
                    if not shared:
                        with pytest.raises(MCPError):
                            await retry
                        return
                    result = await retry
        assert not result.is_error, result.content
        [sent] = fake.requests_for("grok")
        assert "hello from either replica" in sent.user
    finally:
        for replica in replicas:
            assert SHARED_STATE_KEY not in replica.stop()
