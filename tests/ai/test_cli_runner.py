"""The runner of every CLI AI (ai/cli/runner.py), with real processes: output held to its cap, stderr kept
as a bounded tail and never on our stdout, stdin closed so nothing waits for an answer, and the environment
without other AIs' keys or this server's secrets. (The kill on deadline and cancel, by PID, is in
tests/tools/test_cli_ais.py, through MCP.)"""

from __future__ import annotations

import sys
import time

import anyio
import pytest

from ai.cli.runner import STDERR_TAIL_BYTES, child_environment, run_cli

pytestmark = pytest.mark.anyio
CAP = 64 * 1024


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_output_past_the_cap_stops_the_run_there() -> None:
    endless = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    with anyio.fail_after(20):
        finished = await run_cli(python(endless), cwd=".", env={}, max_bytes=CAP)
    assert finished.too_large and finished.stdout == b"x" * CAP


async def test_stderr_is_a_bounded_tail_and_never_reaches_our_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    noisy = "import sys\nsys.stderr.write('noise ' * 100000 + 'THE END')\nprint('{}')"
    with anyio.fail_after(20):
        finished = await run_cli(python(noisy), cwd=".", env={}, max_bytes=CAP)
    assert finished.stdout == b"{}\n" and finished.returncode == 0
    assert finished.stderr_tail.endswith(b"THE END") and len(finished.stderr_tail) <= STDERR_TAIL_BYTES
    assert "noise" not in capfd.readouterr().out, "the MCP transport is stdout: nothing of the CLI's goes there"


async def test_a_cli_that_asks_for_approval_reads_end_of_file_and_does_not_wait() -> None:
    asking = "answer = input('Allow this edit? [y/N] ') if True else ''"
    started = time.monotonic()
    with anyio.fail_after(20):
        finished = await run_cli(python(asking), cwd=".", env={}, max_bytes=CAP)
    assert finished.returncode != 0 and b"EOFError" in finished.stderr_tail
    assert time.monotonic() - started < 10


async def test_the_prompt_on_stdin_is_read_whole_then_closed() -> None:
    echo = "import sys\nsys.stdout.write(str(len(sys.stdin.read())))"
    prompt = b"p" * (1024 * 1024)  # past a pipe's buffer: written while the CLI reads
    with anyio.fail_after(20):
        finished = await run_cli(python(echo), cwd=".", env={}, max_bytes=CAP, stdin=prompt)
    assert finished.stdout == str(len(prompt)).encode()


def test_the_environment_lacks_other_ais_keys_and_the_servers_secrets() -> None:
    user = {"PATH": "/bin", "XAI_API_KEY": "x", "ANTHROPIC_API_KEY": "a", "JUNIOR_AI_TOKENS": "t", "JUNIOR_X": "y"}
    env = child_environment(user, ["XAI_API_KEY", "GEMINI_API_KEY"], {"ANTHROPIC_BASE_URL": "http://127.0.0.1:1"})
    assert env == {"PATH": "/bin", "ANTHROPIC_API_KEY": "a", "ANTHROPIC_BASE_URL": "http://127.0.0.1:1"}
