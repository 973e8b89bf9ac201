"""Row 14 of the benchmark: masking the keys in a long answer (every answer passes `Redactor.redact` before
it leaves the server), against the least an exact search must do in the same run.

The answer is 100,000 characters of ordinary text with no key in it (the common case: the whole text is
searched, nothing is replaced), and six 40-character keys are known. Any run of PARTIAL_CHARS characters
of a key holds one whole block of PARTIAL_CHARS / 2 characters that starts at a multiple of that in the
key, so the floor is one `str.find` of the text for each such block of each key: what masking runs of keys
costs without a cleverer search. Medians of interleaved repeats, a warm-up discarded.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from core.redact import PARTIAL_CHARS, Redactor

__all__ = ["ANSWER_CHARS", "masking_cost"]

ANSWER_CHARS = 100_000
KEYS = [f"sk-test-{n}-" + "Zq8rT2vW9yB4nM6kL1pX3cV7bN0aS5dF"[n:] + f"{n:04d}" for n in range(6)]
ANSWER = ("Here is the fix: use `client = OpenAI()` and a retry loop; see https://example.com/x. " * 1200)[
    :ANSWER_CHARS
]


def blocks(keys: list[str], size: int = PARTIAL_CHARS // 2) -> list[str]:
    """Each key's whole blocks of `size` characters, at multiples of `size`."""
    return [key[at : at + size] for key in keys for at in range(0, len(key) - size + 1, size)]


def masking_cost(repeats: int) -> tuple[str, float, float]:
    """The row's value, the masking's time per answer over the floor's, and the masking's milliseconds."""
    redactor = Redactor(KEYS)
    searched = blocks(KEYS)

    def masking() -> None:
        assert redactor.redact(ANSWER) == ANSWER

    def floor() -> None:
        assert all(ANSWER.find(block) == -1 for block in searched)

    timed: dict[Callable[[], None], list[float]] = {masking: [], floor: []}
    for round_ in range(repeats + 1):
        for measure, times in timed.items():
            started = time.perf_counter()
            measure()
            if round_:  # the first round warms up
                times.append(time.perf_counter() - started)
    mask_s, floor_s = statistics.median(timed[masking]), statistics.median(timed[floor])
    ratio = mask_s / floor_s
    value = (
        f"{mask_s * 1000:.2f} ms per answer; {ratio:.2f} x the floor: a str.find for each of the keys' "
        f"{len(searched)} blocks ({floor_s * 1000:.2f} ms)"
    )
    return value, ratio, mask_s * 1000
