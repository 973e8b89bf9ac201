"""Quorum: a fan-out that returns once `min_answers` AIs have answered; the AIs still asked are cancelled
(their requests closed upstream) and named as not waited for.

    check_min_answers(2, len(routes))
    results = await ask_routes(app, routes, request, enough=quorum(2))
    skipped = not_waited_for([route.label for route in routes], results)
"""

from __future__ import annotations

from collections.abc import Iterable

from callers.fanout import Enough
from callers.result import AIResult
from core.errors import InvalidRequest

__all__ = ["check_min_answers", "not_waited_for", "quorum"]


def check_min_answers(min_answers: int | None, asked: int) -> None:
    """Check `min_answers` against the number of AIs asked (None: wait for every AI).

    Raises:
        InvalidRequest: `min_answers` is not between 1 and `asked`.
    """
    if min_answers is not None and not 1 <= min_answers <= asked:
        many = f"the {asked} AIs asked" if asked != 1 else "the 1 AI asked"
        raise InvalidRequest(f"min_answers must be 1-{asked} ({many}), got {min_answers}")


def quorum(min_answers: int) -> Enough:
    """Enough once `min_answers` AIs have answered. Failures do not count: when so many fail that
    `min_answers` can no longer be reached, the fan-out waits for every AI."""

    def enough(results: list[AIResult]) -> bool:
        return sum(result.ok for result in results) >= min_answers

    return enough


def not_waited_for(asked: Iterable[str], results: Iterable[AIResult]) -> list[str]:
    """The AIs of `asked` (by label) with no result: cancelled once enough had answered."""
    finished = {result.ai for result in results}
    return [name for name in asked if name not in finished]
