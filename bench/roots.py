"""Row 15 of the benchmark: what asking the client for its roots adds to a call with files, on both protocol
eras, through the SDK's client in memory against the fake provider answering at once (L = 0).

The same `ask_ai` with one file, from two clients of the same server: one that offers its roots (the server
asks for them: mid-call on 2025-11-25, an `InputRequiredResult` round on 2026-07-28) and one that offers
none while the server's `allowed_roots` names the same folder (nothing asked): the floor, measured in the
same run, interleaved call by call.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import ListRootsResult, Root

from core.config.settings import Settings
from serve.main import build_server

__all__ = ["ERAS", "roots_overhead"]

ERAS = ("legacy", "2026-07-28")  # the handshake (2025-11-25) and the stateless protocol
WARM_UP = 20  # calls whose times are dropped: imports, connections, the store's first statements


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def roots_overhead(settings: Settings, data_dir: Path, calls: int, era: str) -> tuple[str, float]:
    """The median the roots round trip adds to a call with one file on `era` (ms), and the row's text.

    The median of the differences call by call: on a shared machine, the p95 of either side moves by more
    than the round trip costs (both p95s are in the row's text)."""
    project = data_dir / "project"
    project.mkdir(exist_ok=True)
    (project / "hello.py").write_text("print('hello')\n" * 20)
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{data_dir / f'{era}.db'}", "allowed_roots": (project,)}
    )

    async def offering(_context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri(), name="project")])  # type: ignore[arg-type]

    arguments = {"ai": "grok", "prompt": "Review", "files": ["hello.py"]}
    configured_times: list[float] = []
    offered_times: list[float] = []
    server = build_server(settings)
    async with Client(server, mode=era) as configured, Client(server, mode=era, list_roots_callback=offering) as asks:
        for n in range(calls + WARM_UP):
            started = time.perf_counter()
            floor = await configured.call_tool("ask_ai", arguments)
            took_floor = time.perf_counter() - started
            started = time.perf_counter()
            result = await asks.call_tool("ask_ai", arguments)
            took = time.perf_counter() - started
            if floor.is_error or result.is_error:
                raise RuntimeError(f"the bench call failed: {floor.content or result.content}")
            if n >= WARM_UP:
                configured_times.append(took_floor)
                offered_times.append(took)
    added_ms = statistics.median(a - b for a, b in zip(offered_times, configured_times, strict=True)) * 1000
    value = (
        f"{added_ms:.2f} ms median of the differences (p95 {p95(offered_times) * 1000:.2f} ms asking the "
        f"client, {p95(configured_times) * 1000:.2f} ms with configured roots)"
    )
    return value, added_ms
