"""A stand-in CLI on disk, named `claude`, that answers in Claude Code's JSON and records how it was started.

    claude = fake_claude(tmp_path, "answer")       # or "hang", "login"
    {"claude": {"kind": "cli", "command": str(claude)}}
    record = read_record(claude)                     # argv, cwd, environment, stdin of the last run
    parent, child = await running_pids(claude)      # "hang": once it runs; then `await ended(pids, 1.0)`

Behaviours (the first word of the file `<dir>/behaviour`, so a test may switch it between calls):
- `answer`: prints `{"type": "result", "result": "CLI says: <first line of stdin>", ...}` with a session id
  (`--resume`'s, else a new one), usage and the session's cost so far ($0.0125 a run, as Claude Code's
  `total_cost_usd` is the session's total);
- `hang`: spawns a child that sleeps, writes both PIDs to the FIFO `<dir>/pids` (the test reads it: no
  polling), then sleeps itself (never answers);
- `login`: prints what Claude Code prints when it is not signed in, and exits 1.

The real Claude Code is tested too (tests/tools/test_cli_ais.py); this one exists for what only a script can
tell: its argv, working directory and environment, and PIDs to check after a kill.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio

__all__ = ["LOGIN_OUTPUT", "ended", "fake_claude", "read_record", "running_pids", "set_behaviour"]

# What Claude Code 2.1.337 prints for `claude -p hi --output-format json` with no credential (trimmed).
LOGIN_OUTPUT = {
    "type": "result",
    "subtype": "success",
    "is_error": True,
    "api_error": "no_credential",
    "api_error_status": None,
    "result": "Not logged in · Please run /login",
    "session_id": "85f86bd3-437b-478b-960d-1e2358b6d834",
    "total_cost_usd": 0,
    "usage": {"input_tokens": 0, "output_tokens": 0},
}

_SCRIPT = """#!{python}
import json, os, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
behaviour = open(os.path.join(here, "behaviour")).read().split()[0]
stdin = sys.stdin.read()
record = {{"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ), "stdin": stdin}}
with open(os.path.join(here, "record.json"), "w") as out:
    json.dump(record, out)
if behaviour == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(os.path.join(here, "pids"), "w") as out:
        out.write(f"{{os.getpid()}} {{child.pid}}")
    time.sleep(600)
elif behaviour == "login":
    print(json.dumps({login}))
    sys.exit(1)
else:
    first = stdin.strip().splitlines()[-1] if stdin.strip() else ""
    session = "session-" + str(len(stdin))
    if "--resume" in sys.argv:
        session = sys.argv[sys.argv.index("--resume") + 1]
    costs_path = os.path.join(here, "costs.json")  # each session's cost so far: Claude Code reports the total
    costs = json.load(open(costs_path)) if os.path.exists(costs_path) else {{}}
    costs[session] = costs.get(session, 0.0) + 0.0125
    with open(costs_path, "w") as out:
        json.dump(costs, out)
    answer = {{
        "type": "result", "subtype": "success", "is_error": False, "result": "CLI says: " + first,
        "session_id": session, "total_cost_usd": costs[session],
        "usage": {{"input_tokens": 100, "cache_read_input_tokens": 20, "output_tokens": 30}},
        "modelUsage": {{"claude-fake-1": {{"inputTokens": 100}}}},
    }}
    print(json.dumps(answer))
"""


def fake_claude(directory: Path, behaviour: str = "answer") -> Path:
    """An executable `claude` in `directory/bin` (made), behaving as `behaviour`."""
    directory = directory / "bin"
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "claude"
    script.write_text(_SCRIPT.format(python=sys.executable, login=repr(LOGIN_OUTPUT)), encoding="utf-8")
    script.chmod(0o755)
    set_behaviour(script, behaviour)
    return script


def set_behaviour(script: Path, behaviour: str) -> None:
    (script.parent / "behaviour").write_text(behaviour)
    fifo = script.parent / "pids"
    if behaviour == "hang" and not fifo.exists():
        os.mkfifo(fifo)


def read_record(script: Path) -> dict[str, Any]:
    """How the script was last started: argv, cwd, env, stdin."""
    record: dict[str, Any] = json.loads((script.parent / "record.json").read_text())
    return record


async def running_pids(script: Path) -> tuple[int, int]:
    """The hanging script's PID and its child's, once it runs (read from its FIFO in a worker thread), each as
    a pidfd opened then, so that `ended` waits on the very processes."""

    def read() -> str:
        with open(script.parent / "pids") as fifo:  # blocks until the script writes
            return fifo.read()

    parent, child = (await anyio.to_thread.run_sync(read, abandon_on_cancel=True)).split()
    return int(parent), int(child)


async def ended(pids: tuple[int, ...], within: float) -> bool:
    """Whether every process in `pids` has ended within `within` seconds: each pidfd becomes readable when
    its process exits (a zombie awaiting its reaper has ended), so nothing is polled."""
    fds: list[int] = []
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:  # gone already
                continue
        with anyio.move_on_after(within):
            for fd in fds:
                await anyio.wait_readable(fd)
            return True
        return False
    finally:
        for fd in fds:
            os.close(fd)
