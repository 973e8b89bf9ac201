"""One server process's share of tests/core/store/test_ledger.py's two-process test: open its own store on the URL,
say "ready", wait for "go" on stdin, then reserve N calls at once against one cap and print what was admitted.

    python -m tests.core.ledger_process URL CALLS ESTIMATE_USD CAP_USD
"""

from __future__ import annotations

import json
import sys

import anyio

from core.errors import BudgetExceeded
from core.money.caps import Cap
from core.store.database import Store

__all__ = ["main"]


async def main(url: str, calls: int, estimate_usd: float, cap_usd: float) -> dict[str, int]:
    """Reserve `calls` calls at once once told to go; returns how many were admitted and refused."""
    caps = [Cap("daily", cap_usd, "day")]
    outcomes: list[str] = []

    async def reserve() -> None:
        try:
            await store.ledger.reserve(
                caps=caps, ai="gemini", model="m", tool="ask_ai", thread_id=None, estimate_usd=estimate_usd
            )
            outcomes.append("admitted")
        except BudgetExceeded:
            outcomes.append("refused")

    async with Store(url) as store:
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(reserve)
    return {"admitted": outcomes.count("admitted"), "refused": outcomes.count("refused")}


if __name__ == "__main__":
    url, calls, estimate, cap = sys.argv[1:5]
    print(json.dumps(anyio.run(main, url, int(calls), float(estimate), float(cap))), flush=True)
