"""The server process as a client sees it: cancellation, shutdown, --check, and a load test over stdio."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from mcp import Client, StdioServerParameters

from core.config.credentials import PROJECT_ROOT
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import FAST_RETRIES, answer_of, credentials_for, key_for, write_credentials

pytestmark = pytest.mark.anyio
SERVER = str(PROJECT_ROOT / "server.py")
SLOW = ("grok", "deepseek", "openrouter")


def credentials(fake: FakeProvider, tmp_path: Path, names: tuple[str, ...] = SLOW, **extra: Any) -> Path:
    return write_credentials(tmp_path / "credentials.json", credentials_for(fake, names) | FAST_RETRIES | extra)


async def in_thread(wait: Any, *args: Any) -> bool:
    return bool(await anyio.to_thread.run_sync(wait, *args))


async def test_cancelling_a_call_closes_every_upstream_connection(fake: FakeProvider, tmp_path: Path) -> None:
    for name in SLOW:
        fake.behave(name, latency=30)
    params = StdioServerParameters(
        command=sys.executable,
        args=[SERVER, "--credentials", str(credentials(fake, tmp_path))],
        env={"HOME": str(tmp_path)},
    )
    async with Client(params) as client:
        with anyio.move_on_after(10):  # cancelled below, as soon as every AI has been asked
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "ask_all_ais", {"prompt": "slow"})
                assert await in_thread(fake.wait_for_requests, 3, 5)
                group.cancel_scope.cancel()
        # Aborted, not left to run out their 30 s: the fake sees each client hang up.
        assert await in_thread(fake.wait_for_disconnects, 3, 5), "every provider request was aborted"
        fake.reset()
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "next"})
    assert answer_of(result.content[0].text) == "[grok:grok-3-mini] next"  # type: ignore[union-attr]


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(request_id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


async def start(fake: FakeProvider, tmp_path: Path, names: tuple[str, ...] = SLOW, **extra: Any) -> Process:
    command = [sys.executable, SERVER, "--credentials", str(credentials(fake, tmp_path, names, **extra))]
    return await anyio.open_process(command, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})


async def send(process: Process, *messages: dict[str, Any]) -> None:
    assert process.stdin is not None
    await process.stdin.send("".join(json.dumps(m) + "\n" for m in messages).encode())


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "EOF"])
async def test_shutdown_cancels_calls_closes_clients_and_exits_zero(
    fake: FakeProvider, tmp_path: Path, how: str
) -> None:
    for name in SLOW:
        fake.behave(name, latency=30)
    process = await start(fake, tmp_path)
    await send(process, INITIALIZE, INITIALIZED, call(1, "ask_all_ais", {"prompt": "slow"}))
    assert await in_thread(fake.wait_for_requests, 3, 10), "the call reached the providers"
    if how == "EOF":
        assert process.stdin is not None
        await process.stdin.aclose()
    else:
        process.send_signal(getattr(signal, how))
    # Well before the 30 s the calls would take. The README's "within 2 s" is serve.shutdown.SHUTDOWN_TIMEOUT_S;
    # timed from here it would also count signal delivery and interpreter exit, which load stretches.
    with anyio.fail_after(5):
        code = await process.wait()
    assert code == 0
    assert await in_thread(fake.wait_for_disconnects, 3, 1), "the in-flight provider requests were aborted"


def run_check(fake: FakeProvider, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = credentials(fake, tmp_path, ("gemini", "grok", "ollama"))
    return subprocess.run(
        [sys.executable, SERVER, "--credentials", str(path), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )


def test_check_passes_when_every_ai_answers(fake: FakeProvider, tmp_path: Path) -> None:
    done = run_check(fake, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["AI", "enabled", "model", "base", "URL", "key", "check"]
    for name in ("gemini", "grok", "ollama"):
        assert any(line.startswith(name) and " OK (" in line for line in lines), done.stdout
        assert key_for(name) not in done.stdout + done.stderr
    assert "…6789" in done.stdout and lines[-1] == "all enabled AIs answered"
    assert lines[-2].startswith("store: sqlite+aiosqlite:///") and lines[-2].endswith(" (created now)")
    assert {r.user for r in fake.requests} == {"Reply with the single word OK."}


def test_check_fails_when_one_ai_is_down_and_still_shows_the_others(fake: FakeProvider, tmp_path: Path) -> None:
    fake.behave("grok", status=401)
    done = run_check(fake, tmp_path)
    assert done.returncode == 1
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[3:-2]}  # then the store's line, the summary
    assert "FAILED: auth: fake provider error 401 (HTTP 401)" in rows["grok"]
    assert " OK (" in rows["gemini"] and " OK (" in rows["ollama"]
    assert done.stdout.splitlines()[-1] == "2 of 3 enabled AIs answered"


LOAD_CALLS = 1_000


async def test_load_a_thousand_calls_with_one_in_ten_provider_requests_failing(
    fake: FakeProvider, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("gemini", "grok", "deepseek", "ollama")
    for name in names:
        fake.behave(name, fail_rate=0.1)
    process = await start(fake, tmp_path, names, max_concurrency=16)
    chooser = random.Random(7)
    requests = [
        call(n, "ask_all_ais", {"prompt": f"all {n}"})
        if n % 20 == 0
        else call(n, "ask_ai", {"ai": chooser.choice(names), "prompt": f"call {n}"})
        for n in range(1, LOAD_CALLS + 1)
    ]
    started = anyio.current_time()
    await send(process, INITIALIZE, INITIALIZED, *requests)
    answers: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    assert process.stdout is not None
    buffer = b""
    with anyio.fail_after(120):
        while sum(answers.values()) < LOAD_CALLS:
            buffer += await process.stdout.receive()
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if message.get("id") in (None, 0):
                    continue
                answers[message["id"]] += 1
                outcomes["tool error" if message["result"].get("isError") else "ok"] += 1
    elapsed = anyio.current_time() - started
    await send(process, call(LOAD_CALLS + 1, "server_status", {}))
    with anyio.fail_after(10):
        while not buffer.endswith(b"\n"):
            buffer += await process.stdout.receive()
    status = json.loads(buffer)["result"]["structuredContent"]
    assert process.stdin is not None
    await process.stdin.aclose()
    with anyio.fail_after(5):
        assert await process.wait() == 0
    retries = sum(ai["metrics"]["retries"] for ai in status["ais"])
    with capsys.disabled():
        print(
            f"\nload: {LOAD_CALLS} calls over one stdio session in {elapsed:.2f} s "
            f"({LOAD_CALLS / elapsed:.0f}/s); {outcomes['ok']} ok, {outcomes['tool error']} tool errors; "
            f"{len(fake.requests)} provider requests, {retries} retries"
        )
    assert sorted(answers) == list(range(1, LOAD_CALLS + 1)) and set(answers.values()) == {1}
    assert outcomes["ok"] >= LOAD_CALLS * 0.98, "3 attempts each: nearly every call recovers"
    assert retries > 0


def test_check_with_every_ai_disabled_fails(tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "c.json", {"grok": {"api_key": "k" * 20, "enabled": False}})
    done = subprocess.run(
        [sys.executable, SERVER, "--credentials", str(path), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1 and done.stdout.splitlines()[-1] == "no AI is enabled"


def test_the_log_level_variable_reaches_our_loggers(fake: FakeProvider, tmp_path: Path) -> None:
    path = credentials(fake, tmp_path, ("grok",))

    def check_with(level: dict[str, str]) -> str:
        fake.queue("grok", Behaviour(status=503))  # one retry, which is logged at INFO
        done = subprocess.run(
            [sys.executable, SERVER, "--credentials", str(path), "--check"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", **level},
        )
        assert done.returncode == 0, done.stdout
        return done.stderr

    assert "retrying in" not in check_with({})
    assert "grok (grok-3-mini) (HTTP 503): fake provider error 503; retrying in" in check_with(
        {"JUNIOR_AI_LOG_LEVEL": "info"}
    )
