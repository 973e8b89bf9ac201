"""Row 10 of the benchmark: what pricing an answer and writing its ledger row add to a call, on the default
store (SQLite), with no cap (the row is written after the answer, in the background) and with a daily cap
(the worst case is reserved before sending, and settled after).

Each is measured against the same call with pricing and the ledger switched off (the two functions
replaced by no-ops in this process), interleaved, against the fake provider answering at once (L = 0).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import callers.call
from ai.request import Request
from callers import Junior, ask
from core.config.settings import Settings
from core.money.caps import Budgets
from core.money.prices import UNKNOWN

__all__ = ["spending_overhead"]

PROMPT = "Explain async/await in one sentence."
WARM_UP = 20
PRICED_MODEL = "grok-3-mini"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


@contextmanager
def bookkeeping_off() -> Iterator[None]:
    """The baseline: no price, no ledger row, no reservation."""
    saved = callers.call.price_for, callers.call.book, callers.call.admit

    async def no_admit(*_: Any) -> None:
        return None

    callers.call.price_for = lambda *_args, **_kw: UNKNOWN  # type: ignore[assignment]
    callers.call.book = lambda *_args, **_kw: None  # type: ignore[assignment]
    callers.call.admit = no_admit  # type: ignore[assignment]
    try:
        yield
    finally:
        callers.call.price_for, callers.call.book, callers.call.admit = saved


async def _timed(app: Junior, off: bool) -> float:
    started = time.perf_counter()
    if off:
        with bookkeeping_off():
            await ask(app, "grok", Request(PROMPT, max_tokens=100))
    else:
        await ask(app, "grok", Request(PROMPT, max_tokens=100))
    return time.perf_counter() - started


async def _added(settings: Settings, calls: int) -> tuple[float, float]:
    async with Junior.build(settings) as app:
        on: list[float] = []
        off: list[float] = []
        for n in range(calls + WARM_UP):
            with_it, without = await _timed(app, False), await _timed(app, True)
            if n >= WARM_UP:
                on.append(with_it)
                off.append(without)
    return (p95(on) - p95(off)) * 1000, (statistics.median(on) - statistics.median(off)) * 1000


async def spending_overhead(settings: Settings, data_dir: Path, calls: int) -> tuple[str, float]:
    """The p95 that pricing and the ledger add to a call with no cap (ms), and the row's text (both cases)."""
    grok = settings.ais["grok"].model_copy(update={"model": PRICED_MODEL})  # priced by genai-prices
    url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    settings = settings.model_copy(update={"database_url": url, "ais": {**settings.ais, "grok": grok}})
    free_p95, free_median = await _added(settings, calls)
    capped_p95, capped_median = await _added(settings.model_copy(update={"budgets": Budgets(daily_usd=1_000)}), calls)
    value = (
        f"{free_p95:.2f} ms p95 (median {free_median:.2f} ms) with no cap; "
        f"{capped_p95:.2f} ms p95 (median {capped_median:.2f} ms) with a daily cap"
    )
    return value, free_p95
