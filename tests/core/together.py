"""Store processes started at once: each opens its own store, says "ready", and on "go" does its work and
prints one JSON line; the test reads every process's line (tests/core/ledger_process.py, rates_process.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from core.store.database import Store

__all__ = ["run_together"]

ROOT = Path(__file__).resolve().parents[2]


async def run_together(command: list[str], url: str, count: int = 2) -> list[Any]:
    """Start `count` copies of `command` on the store at `url` (migrated first, once), tell them to go
    together, and return what each printed; every one must exit 0."""
    async with Store(url):  # migrated once, before any process opens it
        pass
    processes = [await anyio.open_process(command, cwd=ROOT) for _ in range(count)]
    try:
        outputs = [BufferedByteReceiveStream(process.stdout) for process in processes if process.stdout]
        for output in outputs:
            assert await output.receive_until(b"\n", 1000) == b"ready"
        for process in processes:
            assert process.stdin is not None
            await process.stdin.send(b"go\n")
        results = [json.loads(await output.receive_until(b"\n", 1000)) for output in outputs]
        assert [await process.wait() for process in processes] == [0] * count
        return results
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await process.aclose()
