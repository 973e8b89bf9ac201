"""What the collaboration modes share: progress messages and quoting several AIs in one prompt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

__all__ = ["Notify", "labelled", "say"]

# Progress messages, awaited as work finishes ("round 2: grok answered in 1.2 s").
Notify = Callable[[str], Awaitable[None]]


def labelled(texts: Mapping[str, str], cap: int) -> str:
    """Several AIs' texts for a prompt: each under its `[name]` label, each cut to `cap` characters."""
    return "\n\n".join(f"[{name}]\n{text[:cap]}" for name, text in texts.items())


async def say(notify: Notify | None, message: str) -> None:
    """Send a progress message, if anyone listens."""
    if notify is not None:
        await notify(message)
