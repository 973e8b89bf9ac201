"""Row 9 of the benchmark: what continuing a 50-turn thread adds to a call, on the default store (SQLite).

Each measured call continues a thread of its own that holds 50 turns (25 calls: a prompt and an answer of
realistic size), so every call reads exactly 50: the thread's lock, reading its turns, fitting them to
the window, the larger request the provider receives, and recording the call's two turns. Interleaved
with the same call without a thread, against the fake provider answering at once (L = 0).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ai.request import Request
from callers import AIResult, Junior, ask_route, conversation
from core.config.settings import Settings
from core.store.turns import NewTurn

__all__ = ["TURNS", "thread_overhead"]

TURNS = 50
PROMPT = "Explain async/await in one sentence."
ASKED = "Why does the importer hold every row in memory? " * 4  # ~200 characters, a typical follow-up
ANSWERED = "Because load() builds a list before it writes; stream the rows instead. " * 11  # ~800 characters


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def _threads_of_fifty(app: Junior, count: int) -> list[str]:
    store = await app.store()
    made = []
    for n in range(count):
        thread = await store.threads.create(f"bench {n}")
        for _ in range(TURNS // 2):
            await store.threads.append(
                thread, [NewTurn("user", ASKED, tool="ask_ai"), NewTurn("assistant", ANSWERED, ai="grok", model="m")]
            )
        made.append(thread)
    return made


async def thread_overhead(settings: Settings, data_dir: Path, calls: int) -> tuple[str, float]:
    """The p95 a 50-turn thread adds to a call (ms), and the row's text."""
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"})
    async with Junior.build(settings) as app:
        route = app.route("grok")
        threads = await _threads_of_fifty(app, calls + 20)
        plain_times: list[float] = []
        thread_times: list[float] = []
        for n, thread_id in enumerate(threads):
            started = time.perf_counter()
            await ask_route(app, route, Request(PROMPT))
            plain = time.perf_counter() - started
            started = time.perf_counter()
            async with conversation(app, thread_id, title=PROMPT, deadline_s=30) as thread:
                completion = await ask_route(app, route, Request(PROMPT, history=thread.history_for(route)))
                await thread.record("ask_ai", PROMPT, [AIResult.answered("grok", completion, started)])
            threaded = time.perf_counter() - started
            if n >= 20:  # the first 20 warm up: connections, imports, the store's first statements
                plain_times.append(plain)
                thread_times.append(threaded)
    added_ms = (p95(thread_times) - p95(plain_times)) * 1000
    median_ms = (statistics.median(thread_times) - statistics.median(plain_times)) * 1000
    value = (
        f"{added_ms:.2f} ms p95 (median {median_ms:.2f} ms; a call without a thread: "
        f"{p95(plain_times) * 1000:.2f} ms p95)"
    )
    return value, added_ms
