"""Rows 11-12 of the benchmark: `serve --http` as a process on a loopback port, asked over plain HTTP.

A client here is what a Streamable HTTP client sends in stateless mode: one POST of a JSON-RPC
`tools/call` to `/mcp` with the bearer token, read to the end of its event stream. No MCP client library
sits in the measurement: its own cost (building a session per client) is the client's, not the server's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from core.config.http import token_hash

__all__ = ["BENCH_HTTP", "HttpServerProcess", "call_body", "concurrent_wall", "free_port", "sequential_times"]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-not-a-secret-0123456789abcdef"
START_S = 60.0
# The "http" block of the servers measured: one token stands for hundreds of clients, so its rate limit is
# one that never binds; the check still runs on every request (its cost is in the rows).
BENCH_HTTP = {"rate_limits": {"bench": 1_000_000}}
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class HttpServerProcess:
    """`run.py serve --http --workers N` on a free loopback port, with a store of its own; stderr is discarded."""

    def __init__(self, credentials: Path, workers: int = 1) -> None:
        self._data = tempfile.TemporaryDirectory(prefix="junior-bench-http-")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "JUNIOR_AI_CREDENTIALS": str(credentials),
            "JUNIOR_AI_TOKENS": f"bench:{token_hash(TOKEN)}",
            "XDG_DATA_HOME": self._data.name,
            "JUNIOR_AI_LOG_LEVEL": "WARNING",  # no access line per request: the bench measures the server
        }
        command = [
            sys.executable,
            str(ROOT / "run.py"),
            "serve",
            "--http",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.05)  # polling a starting process's port: there is no event to wait on
        self.close()
        raise RuntimeError(f"serve --http did not answer /healthz within {START_S:g} s")

    def close(self) -> None:
        self.process.terminate()
        # Past the drain (20 s) and the parent's 10 s of grace: with --workers 2 an idle server has been seen (about
        # 1 in 10 stops) to wait out its whole drain; the bench measures calls, not that (see docs/deployment.md).
        self.process.wait(timeout=45)
        self._data.cleanup()


def call_body(number: int, tool: str, arguments: dict[str, Any]) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    ).encode()


async def _call(client: httpx2.AsyncClient, url: str, body: bytes) -> None:
    response = await client.post(f"{url}/mcp", content=body, headers=HEADERS)
    text = response.text
    if response.status_code != 200 or '"isError":true' in text.replace(" ", ""):
        raise RuntimeError(f"HTTP {response.status_code}: {text[:300]}")


async def concurrent_wall(url: str, bodies: list[bytes]) -> float:
    """Seconds for `len(bodies)` clients, each on a connection of its own, to post one call each at once."""
    limits = httpx2.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx2.AsyncClient(limits=limits, timeout=120) as client:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for body in bodies:
                group.start_soon(_call, client, url, body)
        return time.perf_counter() - started


async def sequential_times(url: str, bodies: list[bytes], client: httpx2.AsyncClient) -> list[float]:
    """Each call's seconds, one after another on `client`'s kept-alive connection."""
    times = []
    for body in bodies:
        started = time.perf_counter()
        await _call(client, url, body)
        times.append(time.perf_counter() - started)
    return times
