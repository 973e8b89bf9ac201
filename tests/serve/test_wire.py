"""The stdio wire (serve/stdio.py): what it sends is always encodable, shutdown answers everyone, and a
client that goes away ends the session quietly."""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from anyio.abc import Process

from serve.stdio import SHUTTING_DOWN, StdioWire
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import (
    FAST_RETRIES,
    INIT,
    INITIALIZED,
    SERVER,
    credentials_for,
    frames,
    session,
    tool,
    write_credentials,
)

pytestmark = pytest.mark.anyio

SURROGATE = "\\ud800"  # as JSON spells it: valid JSON, but no UTF-8 encoder will write it back
OPENAI_ANSWER = (
    '{"id": "x", "object": "chat.completion", "created": 0, "model": "m' + SURROGATE + '", "choices": '
    '[{"index": 0, "message": {"role": "assistant", "content": "bad ' + SURROGATE + ' answer"}, '
    '"finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}'
)
GEMINI_ANSWER = (
    '{"candidates": [{"content": {"role": "model", "parts": [{"text": "bad ' + SURROGATE + ' answer"}]}, '
    '"finishReason": "STOP", "index": 0}], "modelVersion": "g' + SURROGATE + '"}'
)
ERROR = '{"error": {"code": 500, "message": "broken ' + SURROGATE + ' proxy", "status": "X"}}'
AIS = ("gemini", "grok", "deepseek", "ollama")


def with_progress(message: dict[str, Any], token: int) -> dict[str, Any]:
    message["params"]["_meta"] = {"progressToken": token}
    return message


DEEP = "[" * 2000 + "]" * 2000
INVALID_UTF8 = b'{"choices": [{"message": {"content": "\xff\xfe broken"}}]}'
CASES = ("surrogate", "invalid_utf8", "deep_nesting")


def hostile(fake: FakeProvider, case: str = "surrogate") -> None:
    """Two AIs answer 200 with the hostile body, one an error with it, one (grok) always the surrogate."""
    fake.behave("grok", body=OPENAI_ANSWER)
    if case == "surrogate":
        fake.behave("gemini", body=GEMINI_ANSWER)
        fake.behave("deepseek", status=400, body=ERROR)  # not retried: never trips the breaker
        fake.behave("ollama", body=OPENAI_ANSWER)
        return
    body = INVALID_UTF8 if case == "invalid_utf8" else DEEP.encode()
    fake.behave("gemini", Behaviour(raw=body, headers=(("content-type", "application/json"),)))
    fake.behave("deepseek", Behaviour(status=400, raw=body, headers=(("content-type", "application/json"),)))
    fake.behave("ollama", Behaviour(raw=body, headers=(("content-type", "application/json"),)))


@pytest.mark.parametrize("case", CASES)
async def test_hostile_answers_and_errors_reach_every_tool_and_the_session_lives(
    fake: FakeProvider, tmp_path: Path, case: str
) -> None:
    hostile(fake, case)
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, AIS) | FAST_RETRIES)
    calls = [
        tool(10, "ask_ai", {"ai": "grok", "prompt": "hi"}),
        tool(11, "ask_ai", {"ai": "gemini", "prompt": "hi"}),
        tool(12, "ask_ai", {"ai": "deepseek", "prompt": "hi"}),
        with_progress(tool(14, "ask_all_ais", {"prompt": "hi", "deadline_s": 10}), 14),
        with_progress(tool(15, "ai_debate", {"topic": "t", "rounds": 2, "deadline_s": 10}), 15),
        with_progress(tool(16, "collaborative_solve", {"problem": "p", "deadline_s": 10}), 16),
        with_progress(tool(17, "ai_consensus", {"question": "q", "options": ["a", "b"], "deadline_s": 10}), 17),
        tool(18, "server_status", {}),
        {"jsonrpc": "2.0", "id": 20, "method": "tools/list"},
    ]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    lines = [json.dumps(m).encode() + b"\n" for m in (INIT, INITIALIZED, *calls)]
    received, errors = await session([sys.executable, SERVER, "--credentials", str(path)], env, lines, 1 + len(calls))
    answers = [m["id"] for m in received if "id" in m]
    assert sorted(answers) == [0, 10, 11, 12, 14, 15, 16, 17, 18, 20], "every request answered exactly once"
    by_id = {m["id"]: m for m in received if "id" in m}
    assert "bad \ufffd answer" in by_id[10]["result"]["content"][0]["text"]
    assert by_id[12]["result"]["isError"]
    if case == "surrogate":
        assert "bad \ufffd answer" in by_id[11]["result"]["content"][0]["text"]
        assert re.search("broken \ufffd? ?proxy", json.dumps(received, ensure_ascii=False)), "the error is shown"
    else:
        kinds = set(re.findall(r'"error_kind": "(\w+)"', json.dumps(received)))
        assert kinds and kinds <= {"invalid_response", "bad_request", "circuit_open"}, kinds
    assert len(by_id[20]["result"]["tools"]) == 8, "the session still answers after all of it"
    assert '"internal' not in json.dumps(received), "a provider's text is data, wherever it goes next"
    assert "Traceback" not in errors


@pytest.mark.parametrize("case", CASES)
def test_check_prints_a_line_for_each_hostile_ai(fake: FakeProvider, tmp_path: Path, case: str) -> None:
    hostile(fake, case)
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, AIS) | FAST_RETRIES)
    done = subprocess.run(
        [sys.executable, SERVER, "--credentials", str(path), "--check"],
        capture_output=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 1, (out, err)  # deepseek failed
    rows = {line.split()[0]: line for line in out.splitlines()[3:-2]}  # then the store's line, the summary
    assert set(rows) == set(AIS), out
    assert "OK" in rows["grok"]
    if case == "surrogate":
        assert re.search("FAILED: bad_request: broken \ufffd? ?proxy", rows["deepseek"])
        assert "OK" in rows["gemini"]
    else:
        assert "FAILED: bad_request" in rows["deepseek"] and "FAILED: invalid_response" in rows["ollama"]
    assert "Traceback" not in err


async def start(fake: FakeProvider, tmp_path: Path, names: tuple[str, ...], **settings: Any) -> Process:
    body = credentials_for(fake, names) | FAST_RETRIES | settings
    path = write_credentials(tmp_path / "credentials.json", body)
    command = [sys.executable, SERVER, "--credentials", str(path)]
    return await anyio.open_process(command, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})


async def read_until_exit(process: Process) -> tuple[list[dict[str, Any]], str]:
    assert process.stdout and process.stderr
    out, err = bytearray(), bytearray()

    async def drain(stream: Any, into: bytearray) -> None:
        async for chunk in stream:
            into.extend(chunk)

    async with anyio.create_task_group() as group:
        group.start_soon(drain, process.stdout, out)
        group.start_soon(drain, process.stderr, err)
    return [json.loads(line) for line in out.split(b"\n") if line], err.decode(errors="replace")


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
async def test_a_signal_with_fifty_calls_in_flight_answers_all_fifty_and_exits_zero(
    fake: FakeProvider, tmp_path: Path, how: str
) -> None:
    slow = ("grok", "deepseek", "gemini")
    for name in slow:
        fake.behave(name, Behaviour(latency=30))
    process = await start(fake, tmp_path, slow, max_concurrency=50)
    calls = [tool(n, "ask_ai", {"ai": slow[n % 3], "prompt": f"call {n}"}) for n in range(1, 51)]
    assert process.stdin is not None
    await process.stdin.send(b"".join(frames(INIT, INITIALIZED, *calls)))
    assert await anyio.to_thread.run_sync(fake.wait_for_requests, 50, 10), "all fifty calls reached the providers"
    with anyio.fail_after(5):  # not the 30 s the calls would take (the 2 s promise: SHUTDOWN_TIMEOUT_S)
        process.send_signal(getattr(signal, how))
        received, errors = await read_until_exit(process)
        code = await process.wait()
    refused = [m["id"] for m in received if m.get("error", {}).get("message") == SHUTTING_DOWN]
    assert sorted(refused) == list(range(1, 51)), received[-3:]
    assert len([m for m in received if "id" in m]) == 51, "no request answered twice"
    assert code == 0
    assert "Traceback" not in errors


async def test_a_request_the_client_cancelled_gets_no_answer_at_shutdown_and_the_others_do(
    fake: FakeProvider, tmp_path: Path
) -> None:
    for name in ("grok", "deepseek"):
        fake.behave(name, Behaviour(latency=30))
    process = await start(fake, tmp_path, ("grok", "deepseek"))
    calls = [
        tool(1, "ask_ai", {"ai": "grok", "prompt": "cancel me"}),
        tool(2, "ask_ai", {"ai": "deepseek", "prompt": "x"}),
    ]
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "user"}}
    assert process.stdin is not None
    await process.stdin.send(b"".join(frames(INIT, INITIALIZED, *calls)))
    assert await anyio.to_thread.run_sync(fake.wait_for_requests, 2, 10), "both calls reached the providers"
    await process.stdin.send(b"".join(frames(cancel)))
    assert await anyio.to_thread.run_sync(fake.wait_for_disconnects, 1, 10), "the cancelled call was stopped"
    with anyio.fail_after(5):
        process.send_signal(signal.SIGTERM)
        received, errors = await read_until_exit(process)
        code = await process.wait()
    answered = [m["id"] for m in received if "id" in m]
    # The MCP spec: a cancelled request gets no response (the TypeScript client reports one as an unknown id).
    assert answered == [0, 2], received
    assert received[-1]["error"]["message"] == SHUTTING_DOWN
    assert code == 0 and "Traceback" not in errors, errors


def test_a_client_that_closes_our_stdout_ends_the_session_quietly(fake: FakeProvider, tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok",)) | FAST_RETRIES)
    process = subprocess.Popen(
        [sys.executable, SERVER, "--credentials", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "JUNIOR_AI_LOG_LEVEL": "INFO"},
    )
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(b"".join(frames(INIT, INITIALIZED)))
    process.stdin.flush()
    assert b'"id":0' in process.stdout.readline(), "the server is up"
    process.stdout.close()
    process.stdin.write(b"".join(frames(tool(1, "server_status", {}), tool(2, "server_status", {}))))
    process.stdin.flush()
    try:
        code = process.wait(10)
    finally:
        process.kill()
    errors = process.stderr.read().decode(errors="replace")
    assert code == 0
    assert "stdout closed by the client" in errors and "Traceback" not in errors, errors


def encode(message: mcp_types.JSONRPCMessage) -> dict[str, Any]:
    line = StdioWire(-1, -1)._encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_an_unencodable_result_is_cleaned_not_dropped() -> None:
    result = {"content": [{"type": "text", "text": "a\ud800b"}], "structuredContent": {"k\udc00": ["\ud83d\ude00"]}}
    sent = encode(mcp_types.JSONRPCResponse(jsonrpc="2.0", id=7, result=result))
    assert sent["result"] == {
        "content": [{"type": "text", "text": "a\ufffdb"}],
        "structuredContent": {"k\ufffd": ["😀"]},
    }


def test_a_result_that_is_not_json_still_answers_its_request() -> None:
    sent = encode(mcp_types.JSONRPCResponse(jsonrpc="2.0", id=8, result={"x": math.nan, "y": "\ud800"}))
    assert sent["id"] == 8 and "could not be encoded" in sent["error"]["message"]


@pytest.mark.parametrize("case", ["success", "failure", "deadline"])
async def test_every_progress_notification_arrives_before_its_response(
    fake: FakeProvider, tmp_path: Path, case: str
) -> None:
    names = ("gemini", "grok", "deepseek")
    if case == "failure":
        fake.behave("grok", status=400)
    if case == "deadline":
        fake.behave("deepseek", latency=30)
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, names) | FAST_RETRIES)
    deadline = {"deadline_s": 2} if case == "deadline" else {}
    calls = [
        with_progress(tool(1, "ask_all_ais", {"prompt": "hi", **deadline}), 1),
        with_progress(tool(2, "ai_debate", {"topic": "t", "rounds": 2, **deadline}), 2),
        with_progress(tool(3, "collaborative_solve", {"problem": "p", **deadline}), 3),
        with_progress(tool(4, "collaborative_solve", {"problem": "p", "approach": "sequential", **deadline}), 4),
        with_progress(tool(5, "ai_consensus", {"question": "q", "options": ["a", "b"], **deadline}), 5),
    ]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    received, _ = await session(
        [sys.executable, SERVER, "--credentials", str(path)], env, frames(INIT, INITIALIZED, *calls), 1 + len(calls)
    )
    answered: set[int] = set()
    progress: dict[int, int] = {}
    for message in received:
        if "id" in message:
            answered.add(message["id"])
        elif message.get("method") == "notifications/progress":
            token = message["params"]["progressToken"]
            assert token not in answered, f"a progress notification for {token} came after its response"
            progress[token] = progress.get(token, 0) + 1
    assert set(progress) == {1, 2, 3, 4, 5}, "every tool reported progress"
