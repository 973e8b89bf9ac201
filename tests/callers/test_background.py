"""Bookkeeping after an answer (`Junior.after_answer`): in the background, waited for (briefly) when the
application closes, abandoned if it will not finish."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, select

from ai.request import Request
from callers import Junior, ask_route
from core.config.settings import Settings
from core.store.database import Store
from core.store.schema import ledger

pytestmark = pytest.mark.anyio
BURST = 800  # answers at L = 0, 50 at a time: their ledger rows are written behind them


async def test_a_job_runs_after_the_caller_goes_on_and_closing_waits_for_it(settings: Settings) -> None:
    started, release, finished = anyio.Event(), anyio.Event(), anyio.Event()

    async def job() -> None:
        started.set()
        await release.wait()
        finished.set()

    with anyio.fail_after(5):
        async with Junior.build(settings) as app:
            app.after_answer(job())  # returns before the job is done
            await started.wait()
            assert not finished.is_set()
            release.set()
        assert finished.is_set(), "closing waited for the job"


async def test_closing_abandons_a_job_that_will_not_finish_and_still_closes(settings: Settings) -> None:
    async def stuck() -> None:
        await anyio.sleep_forever()

    with anyio.fail_after(5):
        async with Junior.build(settings) as app:
            app.after_answer(stuck())
    assert app.closed


async def test_closing_after_a_burst_of_answers_writes_every_ledger_row(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'burst.db'}", "max_concurrency": 50})
    with anyio.fail_after(60):
        async with Junior.build(settings) as app:
            route = app.route("grok")
            limit = anyio.Semaphore(50)

            async def one(n: int) -> None:
                async with limit:
                    await ask_route(app, route, Request(f"question {n}"))

            async with anyio.create_task_group() as group:
                for n in range(BURST):
                    group.start_soon(one, n)
        async with Store(f"sqlite:///{tmp_path / 'burst.db'}") as store, store.read() as conn:
            rows = (await conn.execute(select(func.count()).select_from(ledger))).scalar_one()
    assert rows == BURST, "closing abandoned ledger rows"
