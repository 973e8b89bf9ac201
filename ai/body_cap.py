"""Provider bodies are read up to a cap (`max_answer_bytes`), whatever their size: past it, reading stops
and the connection is closed, so that eight 50 MB answers hold no more memory than eight at the cap.

    http_client = httpx2.AsyncClient(event_hooks=body_hooks(limit, asynchronous=True), ...)

The hook runs once an answer's headers have arrived, before any of its body is read (by us or by an SDK,
streamed or whole), and counts the body twice: the bytes as they come off the wire, and the bytes as
they are decoded, since a 50 KB gzip body may inflate to 50 MB. What happens at the cap depends on the
answer:

- a good answer (2xx) raises `BodyTooLarge` to whoever is reading it. A streamed answer keeps the text
  that arrived before (the async clients return it as an answer cut short, with a note); a whole JSON
  answer cut short cannot be read, and ai.errors makes it an `AnswerTooLarge` error;
- an error answer's body is cut there, quietly: it is read only for its message (which ai.errors
  shortens much further), and the status, so the usual error, is kept.

httpx2 has no setting for this. The hook replaces the response's `stream` (public), and its content
decoder, which httpx2 keeps in the private `_decoder` (of the private `ContentDecoder` class); the tests
in tests/ai/test_body_cap.py prove that both still take effect.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

import httpx2
from httpx2._decoders import ContentDecoder

__all__ = ["BodyTooLarge", "body_hooks", "size_text"]

Hook = Callable[[httpx2.Response], Any]


def size_text(size: int) -> str:
    """A byte count as people read it: "16 MiB", "1.5 MiB", "512 KiB", "100 bytes"."""
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size} bytes"


class BodyTooLarge(Exception):
    """A good answer went past the cap: reading stopped there, and the connection is closed.

    Attributes:
        limit: The cap, in bytes.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the answer went past {self.limit_text}")

    @property
    def limit_text(self) -> str:
        """The cap as an answer cut short names it: "the answer size limit of 16 MiB (max_answer_bytes)"."""
        return f"the answer size limit of {size_text(self.limit)} (max_answer_bytes)"


def body_hooks(limit: int, asynchronous: bool, *after: Hook) -> dict[str, list[Hook]]:
    """httpx2 event hooks that cap every answer's body at `limit` bytes, then run the response hooks
    `after` (which so read a capped body too)."""

    def cap(response: httpx2.Response) -> None:
        _cap(response, limit, asynchronous=False)

    async def acap(response: httpx2.Response) -> None:
        _cap(response, limit, asynchronous=True)

    return {"response": [acap if asynchronous else cap, *after]}


def _cap(response: httpx2.Response, limit: int, asynchronous: bool) -> None:
    count = _Count(limit, strict=response.is_success)
    stream = response.stream
    if asynchronous and isinstance(stream, httpx2.AsyncByteStream):
        response.stream = _AsyncWire(stream, count)
    elif isinstance(stream, httpx2.SyncByteStream):
        response.stream = _Wire(stream, count)
    response._decoder = _Decoded(response._get_content_decoder(), count)


class _Count:
    """One body's bytes against the cap, on the wire and decoded; `strict`: past the cap is an error
    (a good answer), else the body ends there (an error answer's)."""

    def __init__(self, limit: int, strict: bool) -> None:
        self.limit = limit
        self.strict = strict
        self.wire = self.decoded = 0
        self.cut = False  # (not strict) the body ended at the cap: nothing more is read

    def from_wire(self, data: bytes) -> bytes:
        kept = self._within(data, self.wire)
        self.wire += len(kept)
        return kept

    def from_decoder(self, data: bytes) -> bytes:
        kept = self._within(data, self.decoded)
        self.decoded += len(kept)
        return kept

    def _within(self, data: bytes, taken: int) -> bytes:
        room = self.limit - taken
        if len(data) <= room:
            return data
        if self.strict:
            raise BodyTooLarge(self.limit)
        self.cut = True
        return data[:room]


class _Wire(httpx2.SyncByteStream):
    """A response's bytes as they arrive, no more than the cap."""

    def __init__(self, stream: httpx2.SyncByteStream, count: _Count) -> None:
        self._stream = stream
        self._count = count

    @property
    def elapsed(self) -> Any:  # what httpx2's Response.elapsed reads from its stream
        return getattr(self._stream, "elapsed", None)

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        try:
            for chunk in chunks:
                kept = self._count.from_wire(chunk)
                if kept:
                    yield kept
                if self._count.cut:
                    return  # httpx2 closes the response, and so the connection, whose body is not all read
        finally:
            if isinstance(chunks, Generator):
                chunks.close()

    def close(self) -> None:
        self._stream.close()


class _AsyncWire(httpx2.AsyncByteStream):
    """`_Wire` for an async response."""

    def __init__(self, stream: httpx2.AsyncByteStream, count: _Count) -> None:
        self._stream = stream
        self._count = count

    @property
    def elapsed(self) -> Any:
        return getattr(self._stream, "elapsed", None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._stream.__aiter__()
        try:
            async for chunk in chunks:
                kept = self._count.from_wire(chunk)
                if kept:
                    yield kept
                if self._count.cut:
                    return
        finally:
            if isinstance(chunks, AsyncGenerator):  # closed here, not left to asyncio's finalizer
                await chunks.aclose()

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Decoded(ContentDecoder):
    """A response's content decoder whose output stops at the cap (httpx2 decodes in pieces of at most
    1 MiB, so no more than that is ever made past it)."""

    def __init__(self, decoder: ContentDecoder, count: _Count) -> None:
        self._decoder = decoder
        self._count = count

    def decode(self, data: bytes) -> Iterator[bytes]:
        yield from self._kept(self._decoder.decode(data))

    def flush(self) -> Iterator[bytes]:
        if not self._count.cut:  # a body cut short has no proper end to flush
            yield from self._kept(self._decoder.flush())

    def _kept(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            if self._count.cut and self._count.decoded >= self._count.limit:
                return
            kept = self._count.from_decoder(piece)
            if kept:
                yield kept
