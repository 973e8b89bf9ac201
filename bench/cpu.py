"""Row 17 of the benchmark: the server's own CPU per call (user + system, from /proc/<pid>/stat), against a
floor server doing the same work with nothing of ours, measured in the same run.

    python3 bench/cpu.py                       # its own fake provider; 1,000 calls per case, 5 rounds
    python3 bench/cpu.py --calls 300 --cases stdio,floor-stdio

The cases, each a server process of its own asked one `ask_ai` at a time against the fake provider answering
at once (L = 0): ours over stdio (`server.py`), over HTTP (`run.py serve --http`, bench/http_rows.py), with a
thread (each call continues one; a new thread every `THREAD_CALLS` calls, so a thread holds up to 48 turns),
and with a daily cap (the worst case reserved before sending, settled after); and the floor
(bench/cpu_floor.py: a bare MCPServer whose tool makes the raw openai call) over stdio and over HTTP. The
calls go in rounds, the cases interleaved within each, so that the machine's drift hits them alike; a
round's ratio is a case's CPU against its transport's floor's in that round. The client's own work is in
this process and not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.http_rows import BENCH_HTTP, HEADERS, HttpServerProcess, free_port  # noqa: E402

__all__ = ["CASES", "FLOOR_OF", "CpuCosts", "cpu_per_call"]

PROMPT = "Explain async/await in one sentence."
MODEL = "grok-3-mini"  # priced by genai-prices, so that a daily cap can hold the call
WARM_UP = 20  # calls per case before the first round: connections, imports, the store's first statements
THREAD_CALLS = 24  # the "thread" case starts a new thread after this many calls on one
START_S = 60.0
CASES = ("stdio", "http", "thread", "cap", "floor-stdio", "floor-http")
FLOOR_OF = {"stdio": "floor-stdio", "thread": "floor-stdio", "cap": "floor-stdio", "http": "floor-http"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far, all its threads (those ended too)."""
    # Fields 14 and 15 (utime, stime, in clock ticks); the name in field 2 may hold spaces, so split after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuCosts:
    """What the run measured: each case's CPU seconds per round, and how many calls a round made."""

    calls_per_round: int
    rounds: dict[str, list[float]] = field(default_factory=dict)

    def ms_per_call(self, case: str) -> float:
        """The case's CPU per call over every round, in ms."""
        return sum(self.rounds[case]) / (self.calls_per_round * len(self.rounds[case])) * 1000

    def ratios(self, case: str) -> list[float]:
        """The case's CPU against its floor's, round by round."""
        floor = self.rounds[FLOOR_OF[case]]
        return [ours / max(theirs, 1e-9) for ours, theirs in zip(self.rounds[case], floor, strict=True)]

    def describe(self, case: str) -> str:
        """'5.10 ms vs floor 3.20 ms = 1.59 x (rounds 1.52-1.66)'."""
        ratios = self.ratios(case)
        return (
            f"{self.ms_per_call(case):.2f} ms vs floor {self.ms_per_call(FLOOR_OF[case]):.2f} ms = "
            f"{statistics.median(ratios):.2f} x (rounds {min(ratios):.2f}-{max(ratios):.2f})"
        )


def _credentials(port: int, directory: Path, **extra: Any) -> Path:
    body = {
        "retry_base_s": 0.01,
        "grok": {
            "api_key": "bench-key-0000000000",
            "base_url": f"http://127.0.0.1:{port}/grok/v1",
            "model": MODEL,
            "timeout": 60,
        },
        **extra,
    }
    path = directory / f"credentials-{len(list(directory.iterdir()))}.json"
    path.write_text(json.dumps(body))
    return path


class _Stdio:
    """A server process asked over stdio, one JSON-RPC request at a time."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.pid = self.process.pid
        self._id = 0
        init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}
        self.request("initialize", init)
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        self._send({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        assert self.process.stdout is not None
        while True:
            reply: dict[str, Any] = json.loads(self.process.stdout.readline())
            if reply.get("id") == self._id:
                return reply

    def call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = _checked(self.request("tools/call", {"name": "ask_ai", "arguments": arguments}))
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


class _Http:
    """A server process asked over HTTP, one POST at a time on one kept-alive connection."""

    def __init__(self, url: str, pid: int, close: Callable[[], None]) -> None:
        self.url, self.pid, self._close = url, pid, close
        self._client = httpx2.Client(timeout=60)
        self._id = 0

    def call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": "tools/call"}
        body["params"] = {"name": "ask_ai", "arguments": arguments}
        response = self._client.post(f"{self.url}/mcp", json=body, headers=HEADERS)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
        data = next(line[5:] for line in response.text.splitlines() if line.startswith("data:"))
        result: dict[str, Any] = _checked(json.loads(data))
        return result

    def close(self) -> None:
        self._client.close()
        self._close()


def _checked(reply: dict[str, Any]) -> dict[str, Any]:
    result = reply.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise RuntimeError(f"ask_ai failed: {json.dumps(reply)[:300]}")
    return result


def _floor_http(port: int) -> _Http:
    http_port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "cpu_floor.py"), str(port), "--http", str(http_port)]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close() -> None:
        process.terminate()
        process.wait(timeout=30)

    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", http_port), timeout=2).close()
            return _Http(url, process.pid, close)
        except OSError:
            time.sleep(0.05)  # polling a starting process's port: there is no event to wait on
    close()
    raise RuntimeError(f"the floor server did not listen within {START_S:g} s")


def _start(case: str, port: int, directory: Path) -> _Stdio | _Http:
    env = {**os.environ, "XDG_DATA_HOME": str(directory / f"data-{case}")}  # a store of its own
    if case in ("stdio", "thread", "cap"):
        extra = {"budgets": {"daily_usd": 1_000_000}} if case == "cap" else {}
        path = _credentials(port, directory, **extra)
        return _Stdio([sys.executable, str(ROOT / "server.py"), "--credentials", str(path)], env)
    if case == "http":
        server = HttpServerProcess(_credentials(port, directory, http=BENCH_HTTP))
        return _Http(server.url, server.process.pid, server.close)
    if case == "floor-stdio":
        return _Stdio([sys.executable, str(ROOT / "bench" / "cpu_floor.py"), str(port)])
    if case == "floor-http":
        return _floor_http(port)
    raise ValueError(f"unknown case {case!r}; valid: {', '.join(CASES)}")


class _Asker:
    """The calls of one case: a plain ask_ai, or for "thread" one that continues the thread of the last."""

    def __init__(self, case: str, server: _Stdio | _Http) -> None:
        self.server, self.threaded = server, case == "thread"
        self._thread: str | None = None
        self._on_thread = 0

    def ask(self) -> None:
        arguments: dict[str, Any] = {"ai": "grok", "prompt": PROMPT}
        if self.threaded and self._thread is not None:
            arguments["continuation_id"] = self._thread
        result = self.server.call(arguments)
        if self.threaded:
            self._on_thread += 1
            if self._on_thread >= THREAD_CALLS:
                self._thread, self._on_thread = None, 0
            else:
                self._thread = result["structuredContent"]["continuation_id"]


def cpu_per_call(port_0: int, calls: int, rounds: int, cases: Sequence[str] = CASES) -> CpuCosts:
    """Each case's server CPU over `calls` sequential ask_ai (split into `rounds`, the cases interleaved
    within each), against the fake provider on `port_0` answering at once. A case that is not a floor needs
    its floor among `cases` (see FLOOR_OF).

    Raises:
        ValueError: a case is unknown, or its floor is not measured.
        RuntimeError: a server did not start, or a call failed.
    """
    missing = [case for case in cases if case in FLOOR_OF and FLOOR_OF[case] not in cases]
    if missing or any(case not in CASES for case in cases):
        raise ValueError(f"cases {list(cases)}: each needs its floor ({FLOOR_OF}); valid: {', '.join(CASES)}")
    per_round = max(1, calls // rounds)
    costs = CpuCosts(per_round, {case: [] for case in cases})
    with tempfile.TemporaryDirectory(prefix="junior-bench-cpu-") as scratch:
        servers: dict[str, _Stdio | _Http] = {}
        try:
            for case in cases:
                servers[case] = _start(case, port_0, Path(scratch))
            askers = {case: _Asker(case, server) for case, server in servers.items()}
            for asker in askers.values():
                for _ in range(WARM_UP):
                    asker.ask()
            for _ in range(rounds):
                for case, asker in askers.items():
                    before = cpu_seconds(asker.server.pid)
                    for _ in range(per_round):
                        asker.ask()
                    costs.rounds[case].append(cpu_seconds(asker.server.pid) - before)
        finally:
            for server in servers.values():
                server.close()
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 bench/cpu.py", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per case (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the calls are split into (default 5)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    args = parser.parse_args()
    from bench.run import fake_provider  # only here: bench.run imports this module for its row

    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    with fake_provider(0.0) as port_0:
        costs = cpu_per_call(port_0, args.calls, args.rounds, cases)
    for case in cases:
        line = costs.describe(case) if case in FLOOR_OF else f"{costs.ms_per_call(case):.2f} ms"
        print(f"{case}: {line}; per round {[round(s * 1000 / costs.calls_per_round, 2) for s in costs.rounds[case]]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
