"""Bookkeeping after an answer (`Junior.after_answer`): in the background, waited for (briefly) when the
application closes, abandoned if it will not finish."""

from __future__ import annotations

import anyio
import pytest

from callers import Junior
from core.config import Settings

pytestmark = pytest.mark.anyio


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
