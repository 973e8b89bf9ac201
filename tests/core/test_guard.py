"""What counts against the breaker, given the AI's adaptive limit."""

from __future__ import annotations

import pytest

from core.errors import BadRequest, ProviderServerError, ProviderTimeout, RateLimited
from core.resilience.guard import counts_against_breaker


@pytest.mark.parametrize(
    ("error", "limit", "counts"),
    [
        (RateLimited("a", "m", "429"), 4, False),  # the limit comes down instead
        (RateLimited("a", "m", "429"), 1, True),  # one at a time and still refused
        (ProviderTimeout("a", "m", "slow"), 4, True),
        (ProviderServerError("a", "m", "boom", 503), 4, True),
        (BadRequest("a", "m", "bad", 400), 4, False),
    ],
)
def test_counts_against_breaker(error: BaseException, limit: int, counts: bool) -> None:
    assert counts_against_breaker(error, limit) is counts
