"""The real thing: `python server.py` as a stdio subprocess, driven the way Claude Desktop does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client

from core.config.credentials import PROJECT_ROOT
from tests.fakes import FakeProvider
from tests.helpers import ALL_AIS, answer_of, credentials_for, env_for, require, write_credentials

pytestmark = pytest.mark.anyio
SERVER = str(PROJECT_ROOT / "server.py")
MODELS = {
    "gemini": "gemini-2.5-flash",
    "openai": "gpt-4.1-mini",
    "grok": "grok-3-mini",
    "deepseek": "deepseek-chat",
    "openrouter": "openrouter/auto",
    "ollama": "llama3.2",
}


def params(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, command: str = sys.executable
) -> StdioServerParameters:
    """A server process with a clean HOME, so no credentials of the machine's user leak in."""
    script = [] if command != sys.executable else [SERVER]
    return StdioServerParameters(command=command, args=[*script, *args], env={"HOME": str(tmp_path), **(env or {})})


async def ask_everyone(session: ClientSession) -> dict[str, str]:
    await session.initialize()
    tools = {tool.name for tool in (await session.list_tools()).tools}
    assert {"ask_ai", "ask_all_ais", "server_status"} <= tools
    result = await session.call_tool("ask_all_ais", {"prompt": "Say hello"})
    assert not result.is_error, result.content
    return {r["ai"]: r["text"] for r in (result.structured_content or {})["results"]}


async def test_old_handshake_gets_answers_from_all_six_ais_via_credentials_json(
    fake: FakeProvider, tmp_path: Path
) -> None:
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake))
    with anyio.fail_after(30):
        async with stdio_client(params(tmp_path, "--credentials", str(path))) as (read, write):
            async with ClientSession(read, write) as session:
                answers = await ask_everyone(session)
    assert answers == {name: f"[{name}:{MODELS[name]}] Say hello" for name in ALL_AIS}


async def test_the_same_via_environment_variables_only(fake: FakeProvider, tmp_path: Path) -> None:
    if (PROJECT_ROOT / "credentials.json").exists():
        pytest.skip("a credentials.json beside server.py would be read too; this test needs the environment alone")
    with anyio.fail_after(30):
        async with stdio_client(params(tmp_path, env=env_for(fake))) as (read, write):
            async with ClientSession(read, write) as session:
                answers = await ask_everyone(session)
    assert answers == {name: f"[{name}:{MODELS[name]}] Say hello" for name in ALL_AIS}


async def test_keyless_start_over_stdio_lists_tools_and_guides(tmp_path: Path) -> None:
    if (PROJECT_ROOT / "credentials.json").exists():
        pytest.skip("a credentials.json beside server.py would configure AIs")
    with anyio.fail_after(30):
        async with Client(params(tmp_path)) as client:
            assert len((await client.list_tools()).tools) == 8
            result = await client.call_tool("ask_ai", {"ai": "gemini", "prompt": "hi"})
    assert result.is_error
    assert "no AI is configured" in result.content[0].text  # type: ignore[union-attr]


async def test_the_console_script_serves_too(fake: FakeProvider, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "junior-ai"
    why = "the junior-ai console script is not installed in this environment (pip install -e . makes it)"
    require("the junior-ai console script", script if script.exists() else None, why)
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok",)))
    with anyio.fail_after(30):
        async with Client(params(tmp_path, "--credentials", str(path), command=str(script))) as client:
            result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"})
    assert answer_of(result.content[0].text) == "[grok:grok-3-mini] hi"  # type: ignore[union-attr]


RAW_SESSION = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "ask_all_ais", "arguments": {"prompt": "hi"}},
    },
    {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "tools/call",
        "params": {"name": "ask_ai", "arguments": {"ai": "nope", "prompt": "x"}},
    },
]


async def test_stdout_carries_only_json_rpc_frames_and_eof_exits_cleanly(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake) | {"pattern_detection": {"enabled": True}}  # forces a warning on stderr
    path = write_credentials(tmp_path / "credentials.json", body)
    fake.behave("grok", status=500)  # and an error path
    command = [sys.executable, SERVER, "--credentials", str(path)]
    with anyio.fail_after(30):
        process = await anyio.open_process(command, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert process.stdin and process.stdout and process.stderr
        await process.stdin.send("".join(json.dumps(m) + "\n" for m in RAW_SESSION).encode())
        buffer, replies = b"", set()
        while replies != {1, 2, 3, 4}:
            chunk = await process.stdout.receive()
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)  # anything that is not JSON fails the test here
                assert message["jsonrpc"] == "2.0" and ("id" in message or "method" in message), message
                if "id" in message and "result" in message:
                    replies.add(message["id"])
        await process.stdin.aclose()
        with anyio.fail_after(5):
            assert await process.wait() == 0
        rest = b"".join([chunk async for chunk in process.stdout])
        errors = b"".join([chunk async for chunk in process.stderr]).decode()
    assert buffer + rest == b"", "nothing may follow the last frame on stdout"
    assert "ignoring blocks that are not AIs: pattern_detection" in errors


def test_an_invalid_credentials_file_is_reported_on_stderr_and_the_server_still_starts(tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "credentials.json", {"grok": {"api_key": "k", "timeout": -5}})
    done = subprocess.run(
        [sys.executable, SERVER, "--credentials", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0 and done.stdout == ""
    assert f"- {path}: grok: timeout: Input should be greater than 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_start_up_imports_no_provider_sdk_no_database_driver_and_no_price_list() -> None:
    heavy = (
        "openai",
        "google.genai",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "genai_prices",
        "serve.http.app",
        "prometheus_client",
    )
    code = f"import sys, server; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_exit_does_not_wait_for_a_thread_stuck_on_the_network() -> None:
    code = (
        "import threading, time; from serve import shutdown; threading.Thread(target=time.sleep, args=(30,)).start(); "
        "shutdown.exit_without_waiting_for_abandoned_threads(); print('not reached')"
    )
    # The timeout is well below the thread's 30 s: waiting for it would raise TimeoutExpired.
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=15)
    assert (done.returncode, done.stdout) == (0, "")
    assert "exiting without waiting for a provider call abandoned at shutdown" in done.stderr


async def test_the_readme_command_run_py_serve_speaks_mcp(fake: FakeProvider, tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok",)))
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(PROJECT_ROOT / "run.py"), "serve", "--credentials", str(path)],
        env={"HOME": str(tmp_path)},
    )
    with anyio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("ask_ai", {"ai": "grok", "prompt": "via run.py"})
    assert answer_of(result.content[0].text) == "[grok:grok-3-mini] via run.py"  # type: ignore[union-attr]
