"""One server process's share of tests/core/store/test_rates.py's two-process test: open its own store on the
URL, say "ready", wait for "go" on stdin, then send N requests by one caller at once against one limit and
print how many were admitted.

    python -m tests.core.rates_process URL REQUESTS LIMIT NOW
"""

from __future__ import annotations

import json
import sys

import anyio

from core.store.database import Store

__all__ = ["main"]


async def main(url: str, requests: int, limit: int, now: float) -> dict[str, int]:
    """Send `requests` requests by alice at once once told to go; returns how many were admitted and refused."""
    verdicts: list[bool] = []

    async def admit() -> None:
        verdicts.append((await store.rates.admit("alice", limit, now=now)).allowed)

    async with Store(url) as store:
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(admit)
    return {"admitted": verdicts.count(True), "refused": verdicts.count(False)}


if __name__ == "__main__":
    url, requests, limit, now = sys.argv[1:5]
    print(json.dumps(anyio.run(main, url, int(requests), int(limit), float(now))), flush=True)
