"""Group commit for SQLite: the writes that wait at the same moment share one transaction and one commit.

SQLite takes one writer at a time; a burst of calls (500 answers arriving within a second) would each
wait for the previous one's whole transaction. Here the first writer to get the lock runs every write
waiting then, in one transaction, each with its own result; the others find theirs done. Every caller
still returns only once its write is committed (durable), so a crash loses at most the writes not yet
answered.

    result = await batcher.run(lambda conn: conn.execute(...))

An operation may raise one of `Refused` (e.g. UnknownThread) only before it writes anything: that caller
gets the error and the batch goes on. Any other failure rolls the whole batch back, and every caller in
it gets the error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import JuniorAIError, StoreUnavailable

__all__ = ["Operation", "WriteBatcher"]

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[T]]
Transaction = Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]]


@dataclass
class _Pending(Generic[T]):
    operation: Operation[T]
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    taken: bool = False


@dataclass
class WriteBatcher:
    """Runs write operations in shared transactions, one transaction at a time.

    Attributes:
        lock: Held while a batch runs (the store's writers' lock).
        transaction: Opens one write transaction.
        refused: Errors an operation raises before writing; they fail that operation, not the batch.
        batches: How many transactions ran (for tests and diagnostics).
    """

    lock: anyio.Lock
    transaction: Transaction
    refused: tuple[type[JuniorAIError], ...] = ()
    batches: int = 0
    _pending: list[_Pending[Any]] = field(default_factory=list)

    async def run(self, operation: Operation[T]) -> T:
        """Run `operation` in the next transaction, with whatever else waits to write; its result.

        Raises:
            StoreUnavailable: the transaction failed (every operation in it failed with it).
            Any of `refused`: as the operation raised it.
        """
        item: _Pending[T] = _Pending(operation)
        self._pending.append(item)
        try:
            async with self.lock:
                if not item.done:
                    await self._drain()
        finally:
            if not item.taken:  # cancelled while waiting: its write never runs
                self._pending.remove(item)
        if item.error is not None:
            raise item.error
        result: T = item.result
        return result

    async def _drain(self) -> None:
        batch, self._pending = self._pending, []
        for item in batch:
            item.taken = True
        self.batches += 1
        # A transaction under way completes even if its drainer is cancelled: others wait on it.
        with anyio.CancelScope(shield=True):
            try:
                async with self.transaction() as conn:
                    for item in batch:
                        try:
                            item.result = await item.operation(conn)
                        except self.refused as error:  # raised before it wrote: only this operation fails
                            item.error = error
            except StoreUnavailable as error:
                for item in batch:
                    item.error = error
            except Exception as error:  # a bug in one operation: the batch is rolled back, each caller told
                for item in batch:
                    item.error = error
            finally:
                for item in batch:
                    item.done = True
