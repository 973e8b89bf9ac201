"""The HTTP path's CPU per call, and rows 9 and 12, in one run: each against its floor measured in the same run.

    .venv/bin/python bench/cpu_http.py                                   # cpu, 9 and 12; 300 calls, 3 rounds
    .venv/bin/python bench/cpu_http.py --rows cpu --variant before=/tmp/main-tree --variant after=.

- **cpu**: the user + system CPU of each `server.py --http` (from /proc/<pid>/stat) over `--calls` sequential
  ask_ai calls at L = 0, against the floor (bench/http_floor_server.py: a bare MCPServer over the same
  stateless Streamable HTTP, whose tool makes the raw openai call), in rounds whose order rotates, so that
  the machine's drift hits all alike; a round's ratio is ours over the floor's in that round. Each
  `--variant LABEL=ROOT[=JSON]` is a server from the code at ROOT (another worktree: before and after in
  one run), with JSON merged into its "http" block (e.g. `{"access_log": false}`).
- **9** and **12**: bench/run.py's rows, run `--rounds` times. **9cpu**: row 9 in CPU (this process's, all
  its threads) per continued call against the same call without a thread: steadier than row 9's p95 on a
  loaded machine.

The client's own work is in this process and not counted. `--hold` prints the servers' pids to stderr and
waits for Enter before the rounds (to attach a profiler: `py-spy record --pid PID --gil ...`).
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import httpx2  # noqa: E402

from ai.request import Request  # noqa: E402
from bench.http_rows import BENCH_HTTP, HEADERS, START_S, TOKEN, free_port  # noqa: E402
from bench.run import credentials, fake_provider, http_overhead, settings_for, thread_row  # noqa: E402
from bench.threads import TURNS, _threads_of_fifty  # noqa: E402
from callers import AIResult, Junior, ask_route, conversation  # noqa: E402
from core.config.http import token_hash  # noqa: E402
from core.config.settings import Settings  # noqa: E402

PROMPT = "Explain async/await in one sentence."
WARM_UP = 20


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Caller:
    """One server asked one ask_ai at a time over one kept-alive connection."""

    def __init__(self, url: str, pid: int) -> None:
        self.url, self.pid = url, pid
        self.client = httpx2.Client(timeout=60)
        self.number = 0

    def call(self) -> None:
        self.number += 1
        body = {"jsonrpc": "2.0", "id": self.number, "method": "tools/call"}
        body["params"] = {"name": "ask_ai", "arguments": {"ai": "grok", "prompt": PROMPT}}
        response = self.client.post(f"{self.url}/mcp", content=json.dumps(body).encode(), headers=HEADERS)
        if response.status_code != 200 or '"isError":true' in response.text.replace(" ", ""):
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")

    def cpu_of(self, calls: int) -> float:
        before = cpu_seconds(self.pid)
        for _ in range(calls):
            self.call()
        return cpu_seconds(self.pid) - before


def floor_process(provider_port: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "http_floor_server.py"), str(provider_port), str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()  # it listens
            return process, url
        except OSError:
            time.sleep(0.05)  # polling a starting process's port: there is no event to wait on
    process.terminate()
    raise RuntimeError("the floor server did not listen")


class OurServer:
    """`server.py --http` from the code at `root`, on a free loopback port, with a store of its own."""

    def __init__(self, root: Path, credentials: Path) -> None:
        self._data = tempfile.TemporaryDirectory(prefix="junior-bench-cpu-http-")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "JUNIOR_AI_CREDENTIALS": str(credentials),
            "JUNIOR_AI_TOKENS": f"bench:{token_hash(TOKEN)}",
            "XDG_DATA_HOME": self._data.name,
            "JUNIOR_AI_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, str(root / "server.py"), "--http", "--port", str(port)]
        self.process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.05)  # polling a starting process's port: there is no event to wait on
        self.close()
        raise RuntimeError(f"{root}/server.py --http did not answer /healthz within {START_S:g} s")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._data.cleanup()


Variant = tuple[str, Path, dict[str, Any]]  # a label, the code's root, JSON merged into its "http" block


def cpu_rows(port_0: int, calls: int, rounds: int, hold: bool, variants: list[Variant]) -> None:
    """Each variant of ours (a label, the code's root, JSON merged into its "http" block) and the floor, each
    asked `calls` times a round, in an order that rotates round by round."""
    floor, floor_url = floor_process(port_0)
    servers: list[OurServer] = []
    try:
        for _, root, http in variants:
            servers.append(OurServer(root, credentials(port_0, ["grok"], http={**BENCH_HTTP, **http})))
        callers = {"floor": Caller(floor_url, floor.pid)}
        for (label, _, _), server in zip(variants, servers, strict=True):
            callers[label] = Caller(server.url, server.process.pid)
        for _ in range(WARM_UP):
            for caller in callers.values():
                caller.call()
        if hold:
            print(", ".join(f"{label}: pid {caller.pid}" for label, caller in callers.items()), file=sys.stderr)
            print("Enter to start", file=sys.stderr)
            sys.stdin.readline()
        spent: dict[str, list[float]] = {label: [] for label in callers}
        order = list(callers)
        for n in range(rounds):
            turn = order[n % len(order) :] + order[: n % len(order)]
            for label in turn:
                spent[label].append(callers[label].cpu_of(calls) / calls * 1000)
            print(f"  round {n + 1}: " + ", ".join(f"{label} {spent[label][-1]:.2f} ms" for label in order), flush=True)
        floor_ms = statistics.median(spent["floor"])
        print(f"CPU per ask_ai over HTTP, L = 0 ({calls} calls a round, {rounds} rounds): floor {floor_ms:.2f} ms")
        for label in order[1:]:
            ratios = [ours / max(theirs, 1e-9) for ours, theirs in zip(spent[label], spent["floor"], strict=True)]
            print(
                f"  {label}: {statistics.median(spent[label]):.2f} ms = {statistics.median(ratios):.2f} x the floor "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f})",
                flush=True,
            )
    finally:
        for server in servers:
            server.close()
        floor.terminate()
        floor.wait(timeout=30)


async def thread_cpu(settings: Settings, data_dir: Path, calls: int) -> str:
    """Row 9 in CPU: this process's CPU (all its threads) per call continuing a 50-turn thread, against the
    same call without a thread, interleaved as row 9 does (bench/threads.py); medians of the calls."""
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"})
    async with Junior.build(settings) as app:
        route = app.route("grok")
        threads = await _threads_of_fifty(app, calls + WARM_UP)
        plain, threaded = [], []
        for n, thread_id in enumerate(threads):
            started = time.process_time()
            await ask_route(app, route, Request(PROMPT))
            took = time.process_time() - started
            started = time.process_time()
            async with conversation(app, thread_id, title=PROMPT, deadline_s=30) as thread:
                completion = await ask_route(app, route, Request(PROMPT, history=thread.history_for(route)))
                await thread.record("ask_ai", PROMPT, [AIResult.answered("grok", completion, time.perf_counter())])
            if n >= WARM_UP:
                plain.append(took)
                threaded.append(time.process_time() - started)
    added = (statistics.median(threaded) - statistics.median(plain)) * 1000
    return (
        f"9 (CPU). continuing a {TURNS}-turn thread: {added:.2f} ms of CPU added per call (median; with "
        f"{statistics.median(threaded) * 1000:.2f} ms, without {statistics.median(plain) * 1000:.2f} ms)"
    )


def _variant(spec: str) -> Variant:
    label, root, *http = spec.split("=", 2)
    return label, Path(root).resolve(), json.loads(http[0]) if http else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", default="cpu,9,12")
    parser.add_argument("--hold", action="store_true")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help='LABEL=ROOT[=JSON]: our server from the code at ROOT, with JSON merged into its "http" block '
        "(repeatable; default: this tree as it is)",
    )
    args = parser.parse_args()
    rows = args.rows.split(",")
    with fake_provider(0.0) as port_0:
        if "cpu" in rows:
            variants = [_variant(spec) for spec in args.variant] or [("ours", ROOT, {})]
            cpu_rows(port_0, args.calls, args.rounds, args.hold, variants)
        for _ in range(args.rounds):
            if "9" in rows:
                [row] = thread_row(port_0, args.calls)
                print(f"{row.measure}: {row.value}", flush=True)
            if "9cpu" in rows:
                with tempfile.TemporaryDirectory() as data_dir:
                    print(anyio.run(thread_cpu, settings_for(port_0, ["grok"]), Path(data_dir), args.calls), flush=True)
            if "12" in rows:
                [row] = http_overhead(port_0, args.calls)
                print(f"{row.measure}: {row.value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
