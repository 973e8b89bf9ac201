"""The request-size check: what a call sends the AIs, together, within `max_prompt_chars`."""

from __future__ import annotations

from callers import Junior
from core.errors import InvalidRequest

__all__ = ["check_size", "with_context"]


def check_size(app: Junior, *texts: str | None) -> None:
    """Raises InvalidRequest when the texts together exceed the configured `max_prompt_chars`."""
    limit = app.settings.max_prompt_chars
    size = sum(len(text) for text in texts if text)
    if size > limit:
        raise InvalidRequest(
            f"the input is {size:,} characters; the limit is {limit:,} (max_prompt_chars): send less context"
        )


def with_context(prompt: str, context: str | None) -> str:
    """The prompt an AI sees: the question, then the code or text it is about (whose size the turn
    checked with the rest of the call's texts)."""
    if not context:
        return prompt
    return f"{prompt}\n\n--- context ---\n{context}"
