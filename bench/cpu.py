"""Row 17 of the benchmark: the server's own CPU per call (user + system, from /proc/<pid>/stat), against a
floor server doing the same work with nothing of ours, measured in the same run.

    python3 bench/cpu.py                       # its own fake provider; 1,000 calls per case, 5 rounds
    python3 bench/cpu.py --calls 300 --cases stdio,floor-stdio
    python3 bench/cpu.py --variant before=/work/wt/before   # adds before-stdio and before-http

The cases, each a server process of its own asked one `ask_ai` at a time against the fake provider answering
at once (L = 0): ours over stdio (`server.py`), over HTTP (`server.py --http --workers 1`), with a thread
(each call continues one; a new thread every `THREAD_CALLS` calls, so a thread holds up to 48 turns), and
with a daily cap (the worst case reserved before sending, settled after); and the floor (bench/cpu_floor.py:
a bare MCPServer whose tool makes the raw openai call) over stdio and over HTTP. Each `--variant
LABEL=ROOT[=JSON]` adds `LABEL-stdio` and `LABEL-http`: the server of the checkout at ROOT (run by this
interpreter; JSON is merged into its "http" block, e.g. `{"access_log": false}`), so that before and after
come from one run against the same floors. The calls go in rounds, the cases in an order that rotates round
by round, so that the machine's drift hits them alike; a round's ratio is a case's CPU against its
transport's floor's in that round. The client's own work is in this process and not counted. `--hold`
prints the servers' pids to stderr and waits for Enter before the rounds (to attach a profiler:
`py-spy record --pid PID --gil ...`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.http_rows import BENCH_HTTP, HEADERS, TOKEN, free_port  # noqa: E402
from core.config.http import token_hash  # noqa: E402

__all__ = ["CASES", "FLOORS", "CpuCosts", "Variant", "cpu_per_call", "floor_of", "variant"]

PROMPT = "Explain async/await in one sentence."
MODEL = "grok-3-mini"  # priced by genai-prices, so that a daily cap can hold the call
WARM_UP = 20  # calls per case before the first round: connections, imports, the store's first statements
THREAD_CALLS = 24  # the "thread" case starts a new thread after this many calls on one
START_S = 60.0
FLOORS = ("floor-stdio", "floor-http")
CASES = ("stdio", "http", "thread", "cap", *FLOORS)


@dataclass(frozen=True)
class Variant:
    """Another checkout's server, measured beside this one's: its cases are `LABEL-stdio` and `LABEL-http`."""

    label: str
    root: Path
    http: Mapping[str, Any] = field(default_factory=dict)  # merged into its credentials' "http" block

    @property
    def cases(self) -> tuple[str, str]:
        return f"{self.label}-stdio", f"{self.label}-http"


def variant(spec: str) -> Variant:
    """`LABEL=ROOT[=JSON]` as a Variant.

    Raises:
        ValueError: no label, a label a case already has, no server.py at ROOT, or JSON that is not an object.
    """
    label, _, rest = spec.partition("=")
    root_text, _, http_text = rest.partition("=")
    root = Path(root_text).resolve()
    if not label or label == "floor" or f"{label}-stdio" in CASES or not (root / "server.py").is_file():
        raise ValueError(f"--variant {spec!r}: want LABEL=ROOT[=JSON], LABEL not 'floor', ROOT a checkout")
    http = json.loads(http_text) if http_text else {}
    if not isinstance(http, dict):
        raise ValueError(f"--variant {spec!r}: the JSON after ROOT= must be an object (the 'http' block)")
    return Variant(label, root, http)


def floor_of(case: str) -> str:
    """The floor a case is compared with: its transport's."""
    return "floor-http" if case == "http" or case.endswith("-http") else "floor-stdio"


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
        floor = self.rounds[floor_of(case)]
        return [ours / max(theirs, 1e-9) for ours, theirs in zip(self.rounds[case], floor, strict=True)]

    def describe(self, case: str) -> str:
        """'5.10 ms vs floor 3.20 ms = 1.59 x (rounds 1.52-1.66)', or a floor's '3.20 ms'."""
        if case in FLOORS:
            return f"{self.ms_per_call(case):.2f} ms"
        ratios = self.ratios(case)
        return (
            f"{self.ms_per_call(case):.2f} ms vs floor {self.ms_per_call(floor_of(case)):.2f} ms = "
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

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.pid, self._command = self.process.pid, " ".join(command)
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
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self._command} ended (exit {self.process.wait()})")
            reply: dict[str, Any] = json.loads(line)
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

    def __init__(self, command: list[str], cwd: Path, port: int, ready: str, env: dict[str, str] | None = None) -> None:
        """Start `command`, which serves on `port`, and wait until GET `ready` answers 200 (any answer if "")."""
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.process.pid
        self.url = f"http://127.0.0.1:{port}"
        self._client = httpx2.Client(timeout=60)
        self._id = 0
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx2.get(f"{self.url}{ready}", timeout=2).status_code == 200 or not ready:
                    return
            except httpx2.TransportError:
                time.sleep(0.05)  # polling a starting process's port: there is no event to wait on
        self.close()
        raise RuntimeError(f"{' '.join(command)} did not answer on port {port} within {START_S:g} s")

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
        self.process.terminate()
        self.process.wait(timeout=30)


def _checked(reply: dict[str, Any]) -> dict[str, Any]:
    result = reply.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise RuntimeError(f"ask_ai failed: {json.dumps(reply)[:300]}")
    return result


def _one_worker(root: Path) -> list[str]:
    """`--workers 1` where the checkout's server has the flag (it serves in one process per core by default,
    and the row reads one process's CPU); an older checkout serves in one process anyway."""
    usage = subprocess.run([sys.executable, str(root / "server.py"), "--help"], cwd=root, capture_output=True)
    return ["--workers", "1"] if b"--workers" in usage.stdout else []


def _ours(root: Path, http: Mapping[str, Any] | None, credentials: Path, data: Path) -> _Stdio | _Http:
    """The server of the checkout at `root`, over stdio, or over HTTP if `http` (its "http" block) is given."""
    env = {**os.environ, "XDG_DATA_HOME": str(data)}  # a store of its own
    command = [sys.executable, str(root / "server.py"), "--credentials", str(credentials)]
    if http is None:
        return _Stdio(command, root, env)
    env |= {"JUNIOR_AI_TOKENS": f"bench:{token_hash(TOKEN)}", "JUNIOR_AI_LOG_LEVEL": "WARNING"}
    port = free_port()
    return _Http([*command, "--http", "--port", str(port), *_one_worker(root)], root, port, "/healthz", env)


def _start(case: str, port: int, directory: Path, variants: Mapping[str, Variant]) -> _Stdio | _Http:
    data = directory / f"data-{case}"
    if case in ("stdio", "thread", "cap"):
        extra = {"budgets": {"daily_usd": 1_000_000}} if case == "cap" else {}
        return _ours(ROOT, None, _credentials(port, directory, **extra), data)
    if case == "http":
        return _ours(ROOT, BENCH_HTTP, _credentials(port, directory, http=BENCH_HTTP), data)
    floor = [sys.executable, str(ROOT / "bench" / "cpu_floor.py"), str(port)]
    if case == "floor-stdio":
        return _Stdio(floor, ROOT)
    if case == "floor-http":
        http_port = free_port()
        return _Http([*floor, "--http", str(http_port)], ROOT, http_port, "")
    label, _, transport = case.rpartition("-")
    if label in variants and transport == "stdio":
        return _ours(variants[label].root, None, _credentials(port, directory), data)
    if label in variants and transport == "http":
        http = {**BENCH_HTTP, **variants[label].http}
        return _ours(variants[label].root, http, _credentials(port, directory, http=http), data)
    raise ValueError(f"unknown case {case!r}; valid: {', '.join(CASES)}, and LABEL-stdio, LABEL-http of a variant")


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


def cpu_per_call(
    port_0: int,
    calls: int,
    rounds: int,
    cases: Sequence[str] = CASES,
    variants: Sequence[Variant] = (),
    hold: Callable[[dict[str, int]], None] | None = None,
) -> CpuCosts:
    """Each case's server CPU over `calls` sequential ask_ai (split into `rounds`, the cases' order rotating
    round by round), against the fake provider on `port_0` answering at once; each variant's two cases are
    added to `cases`. A case that is not a floor needs its floor among the cases (see `floor_of`). `hold`, if
    given, is called with each case's server pid after the warm-up, before the rounds.

    Raises:
        ValueError: a case is unknown, or its floor is not measured.
        RuntimeError: a server did not start, or a call failed.
    """
    by_label = {v.label: v for v in variants}
    cases = [*cases, *(case for v in variants for case in v.cases if case not in cases)]
    valid = [*CASES, *(case for v in variants for case in v.cases)]
    if unknown := [case for case in cases if case not in valid]:
        raise ValueError(f"unknown cases {unknown}; valid: {', '.join(valid)}")
    missing = sorted({floor_of(case) for case in cases if case not in FLOORS} - set(cases))
    if missing:
        raise ValueError(f"cases {cases}: the floors {missing} are needed too (a case's CPU is read against one)")
    per_round = max(1, calls // rounds)
    costs = CpuCosts(per_round, {case: [] for case in cases})
    with tempfile.TemporaryDirectory(prefix="junior-bench-cpu-") as scratch:
        servers: dict[str, _Stdio | _Http] = {}
        try:
            for case in cases:
                servers[case] = _start(case, port_0, Path(scratch), by_label)
            askers = {case: _Asker(case, server) for case, server in servers.items()}
            for asker in askers.values():
                for _ in range(WARM_UP):
                    asker.ask()
            if hold is not None:
                hold({case: server.pid for case, server in servers.items()})
            for n in range(rounds):
                for case in cases[n % len(cases) :] + cases[: n % len(cases)]:
                    before = cpu_seconds(askers[case].server.pid)
                    for _ in range(per_round):
                        askers[case].ask()
                    costs.rounds[case].append(cpu_seconds(askers[case].server.pid) - before)
        finally:
            for server in servers.values():
                server.close()
    return costs


def _hold(pids: dict[str, int]) -> None:
    print(", ".join(f"{case}: pid {pid}" for case, pid in pids.items()), file=sys.stderr)
    print("Enter to start", file=sys.stderr)
    sys.stdin.readline()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 bench/cpu.py", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per case (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the calls are split into (default 5)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="LABEL=ROOT[=JSON]: also the server of the checkout at ROOT, as LABEL-stdio and LABEL-http, with JSON "
        'merged into its "http" block (repeatable)',
    )
    parser.add_argument("--hold", action="store_true", help="print the pids, wait for Enter before the rounds")
    args = parser.parse_args()
    try:
        variants = [variant(spec) for spec in args.variant]
    except ValueError as error:
        parser.error(str(error))
    from bench.run import fake_provider  # only here: bench.run imports this module for its row

    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    with fake_provider(0.0) as port_0:
        costs = cpu_per_call(port_0, args.calls, args.rounds, cases, variants, _hold if args.hold else None)
    print(f"CPU per ask_ai, L = 0, {costs.calls_per_round} calls a round, {args.rounds} rounds")
    for case in costs.rounds:
        per_round = [round(s * 1000 / costs.calls_per_round, 2) for s in costs.rounds[case]]
        print(f"{case}: {costs.describe(case)}; per round {per_round}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
