"""Group commit on SQLite (core/store/batch.py), on a real file: a burst of writers is answered in a few
turns of the event loop once its drain ends, ledger rows go in together, and closing after a burst of
answers writes every row before the store closes."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from sqlalchemy import func, select

from core.store.database import Store
from core.store.schema import ledger

pytestmark = pytest.mark.anyio
WRITERS = 300


async def test_writers_waiting_on_a_drain_all_return_within_a_few_turns_of_the_loop(tmp_path: Path) -> None:
    async with Store(f"sqlite:///{tmp_path / 'junior.db'}") as store:
        thread = await store.threads.create("burst")
        finished: list[int] = []
        ticks = 0
        done = anyio.Event()

        async def one(n: int) -> None:
            await store.ledger.record(ai="grok", model="m", tool="ask_ai", thread_id=thread, cost_usd=0.001)
            finished.append(ticks)
            if len(finished) == WRITERS:
                done.set()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await anyio.lowlevel.checkpoint()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(ticker)
                for n in range(WRITERS):
                    group.start_soon(one, n)
        async with store.read() as conn:
            rows = (await conn.execute(select(func.count()).select_from(ledger))).scalar_one()
    assert rows == WRITERS
    # Each writer returns once its batch is committed. Handed on through a lock, one writer per turn of the
    # loop, the last would return some 300 turns after the first; woken together, within a few dozen.
    assert finished[-1] - finished[0] < 60, (finished[0], finished[-1])
    assert store.write_batches < 20
