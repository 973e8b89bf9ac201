"""Rows 16 and 16b of the benchmark: the hand-off and the jobs tool, through the real MCP client (in memory), on the
default store (SQLite).

- A call to an AI slower than `handoff_s` returns after `handoff_s`: its wall time against `handoff_s`
  itself (the floor: the setting the call must wait for), target `handoff_s` + 0.5 s.
- Polling a done job with `jobs`: the time the server spends on the request (a middleware outermost around
  every request), p95, against a tool that does nothing, timed the same way in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from core.config.settings import Settings
from serve.main import build_server

__all__ = ["handoff_latency", "job_poll"]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def handoff_latency(settings: Settings, data_dir: Path, handoff_s: float, calls: int) -> tuple[str, float]:
    """The slowest and median wall time of `calls` hand-offs (s) over `handoff_s`, and the row's text;
    `settings` point grok at a provider slower than `handoff_s`."""
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'handoff.db'}", "handoff_s": handoff_s}
    )
    walls: list[float] = []
    async with Client(build_server(settings)) as client:
        await client.call_tool("jobs", {})  # the store opened
        for n in range(calls + 1):
            started = time.perf_counter()
            result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": f"hand off {n}"})
            wall = time.perf_counter() - started
            assert "job_id" in (result.structured_content or {}), result.content
            if n:  # the first warms up the SDK and its connection
                walls.append(wall)
    worst = max(walls)
    value = (
        f"slowest {worst:.3f} s, median {statistics.median(walls):.3f} s for handoff_s = {handoff_s:g} s "
        f"({worst / handoff_s:.3f} x handoff_s; {calls} calls)"
    )
    return value, worst - handoff_s


async def job_poll(settings: Settings, data_dir: Path, polls: int) -> tuple[str, float]:
    """The p95 the server spends on `jobs` for a done job (ms), and the row's text (a ping's p95 beside it)."""
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'poll.db'}"})
    server = build_server(settings)
    timings: dict[str, list[float]] = {}

    async def timed(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        started = time.perf_counter()
        try:
            return await call_next(ctx)
        finally:
            timings.setdefault(ctx.method, []).append(time.perf_counter() - started)

    server.middleware.insert(0, timed)  # outermost: everything the server does for the request

    def ping() -> str:
        """A tool that does nothing: the floor."""
        return "pong"

    server.add_tool(ping, name="ping")
    async with Client(server) as client:
        handed = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "poll me", "background": True})
        job_id = (handed.structured_content or {})["job_id"]
        done = await client.call_tool("jobs", {"job_id": job_id, "wait_s": 30})
        assert (done.structured_content or {}).get("status") == "done", done.content
        polls_ms = await _timed_calls(lambda: client.call_tool("jobs", {"job_id": job_id}), timings, polls)
        pings_ms = await _timed_calls(lambda: client.call_tool("ping", {}), timings, polls)
    poll_p95, ping_p95 = p95(polls_ms), p95(pings_ms)
    value = (
        f"{poll_p95:.2f} ms p95 (median {statistics.median(polls_ms):.2f} ms); "
        f"a tool that does nothing: {ping_p95:.2f} ms p95 ({poll_p95 / ping_p95:.1f} x)"
    )
    return value, poll_p95


async def _timed_calls(call: Callable[[], Awaitable[Any]], timings: dict[str, list[float]], count: int) -> list[float]:
    """Server-side milliseconds of `count` calls (after 20 to warm up)."""
    for _ in range(20):
        await call()
    timings.clear()
    for _ in range(count):
        await call()
    [(_, times)] = [(method, times) for method, times in timings.items() if method != "notifications/initialized"]
    return [seconds * 1000 for seconds in times]
