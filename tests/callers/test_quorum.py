"""Quorum policy, table-driven, and the fan-out's early end through the real SDKs: the AIs still asked
when `enough` holds are cancelled, their requests closed upstream, and they have no result."""

from __future__ import annotations

import anyio
import pytest

from ai.request import Request
from callers import AIResult, Junior, ask_all
from callers.quorum import check_min_answers, not_waited_for, quorum
from core.errors import InvalidRequest
from tests.fakes import FakeProvider


def result(ai: str, ok: bool) -> AIResult:
    return AIResult(ai=ai, model="m", ok=ok, latency_s=0.1)


@pytest.mark.parametrize(
    ("outcomes", "min_answers", "enough"),
    [
        ((True,), 1, True),
        ((True,), 2, False),
        ((False, True), 2, False),
        ((False, True, True), 2, True),
        ((False, False, False), 1, False),
        ((), 1, False),
    ],
)
def test_quorum_counts_only_answers(outcomes: tuple[bool, ...], min_answers: int, enough: bool) -> None:
    assert quorum(min_answers)([result(f"ai{i}", ok) for i, ok in enumerate(outcomes)]) is enough


@pytest.mark.parametrize(
    ("min_answers", "asked", "message"),
    [
        (0, 3, "min_answers must be 1-3 (the 3 AIs asked), got 0"),
        (4, 3, "min_answers must be 1-3 (the 3 AIs asked), got 4"),
        (2, 1, "min_answers must be 1-1 (the 1 AI asked), got 2"),
        (-1, 2, "min_answers must be 1-2 (the 2 AIs asked), got -1"),
    ],
)
def test_a_min_answers_outside_1_to_the_ais_asked_is_refused(min_answers: int, asked: int, message: str) -> None:
    with pytest.raises(InvalidRequest, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        check_min_answers(min_answers, asked)


@pytest.mark.parametrize(("min_answers", "asked"), [(None, 0), (None, 3), (1, 1), (3, 3), (1, 50)])
def test_a_min_answers_within_range_is_accepted(min_answers: int | None, asked: int) -> None:
    check_min_answers(min_answers, asked)


def test_not_waited_for_lists_the_ais_without_a_result_in_the_order_asked() -> None:
    done = [result("grok", True), result("gemini", False)]
    assert not_waited_for(["openai", "gemini", "ollama", "grok"], done) == ["openai", "ollama"]


@pytest.mark.anyio
async def test_the_fan_out_ends_once_enough_and_closes_the_other_requests(fake: FakeProvider, app: Junior) -> None:
    fake.behave("deepseek", latency=0.5)  # through the same SDK as the slow ones: they are sent first
    for ai in ("openai", "grok"):
        fake.behave(ai, latency=30)
    with anyio.fail_after(10):
        results = await ask_all(app, ["openai", "deepseek", "grok"], Request("hi", deadline=60), enough=quorum(1))
    assert [(r.ai, r.ok) for r in results] == [("deepseek", True)]
    for ai in ("openai", "grok"):
        assert fake.peak[ai] == 1, f"{ai} was not asked before the quorum"
        assert await anyio.to_thread.run_sync(fake.wait_for_idle, ai, 5), f"{ai}'s request is still open"
        guard = app.guards[ai]
        assert (guard.breaker.state, guard.breaker.failures, guard.limiter.in_flight) == ("closed", 0, 0)
