"""Locks by key: one lock per key while anyone holds or waits for it, none kept after.

async with locks.hold("thread-id", timeout_s=30): ...   # calls on one thread take turns
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio

__all__ = ["KeyedLock", "LockTimeout"]


class LockTimeout(TimeoutError):
    """The lock for a key stayed held for longer than the caller would wait."""


@dataclass
class _Entry:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    users: int = 0


class KeyedLock:
    """A lock per key, made on first use and dropped when its last user leaves (memory stays bounded by
    the keys in use, not the keys ever seen)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @contextlib.asynccontextmanager
    async def hold(self, key: str, *, timeout_s: float) -> AsyncIterator[None]:
        """Hold the lock for `key`, waiting at most `timeout_s` for it.

        Raises:
            LockTimeout: another holder kept it longer than `timeout_s`.
        """
        entry = self._entries.setdefault(key, _Entry())
        entry.users += 1
        try:
            with anyio.move_on_after(timeout_s) as waiting:
                await entry.lock.acquire()
            if waiting.cancelled_caught:
                raise LockTimeout(f"{key!r} stayed busy for over {timeout_s:g} s")
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]
