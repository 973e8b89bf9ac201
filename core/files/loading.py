"""One file's bytes, as text or as an image, with its SHA-256: read in chunks, never past the file's cap,
and stopping between two chunks when the call that reads it is cancelled.

    loaded = load(path, identity, max_chars=400_000)   # in an anyio worker thread (to_thread.run_sync)
    loaded.text, loaded.total_tokens, loaded.sha256     # or loaded.mime/.data, or loaded.skipped

A text file is decoded until it holds more than `max_chars` characters (at most 4 bytes each, plus one
chunk): the rest is neither read nor hashed, however large the file or fast it grows, and the whole file's
estimate comes from its size. An image over `MAX_IMAGE_BYTES` is skipped on its size, before it is read.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio.from_thread

from core.config.defaults import MAX_IMAGE_BYTES
from core.files.rules import estimated_tokens, image_mime

__all__ = ["BINARY", "CHUNK_BYTES", "SNIFF_BYTES", "Loaded", "cut", "load"]

SNIFF_BYTES = 8192  # a NUL byte in these first bytes makes a file binary; they also show an image's type
CHUNK_BYTES = 64 * 1024  # read (and hashed) this much at a time; a cancelled call stops between two
BINARY = "a binary file (neither UTF-8 text nor a PNG, JPEG, WebP or GIF image)"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What one file gave.

    Attributes:
        sha256: Hex SHA-256 of the whole file; of a text file over `max_chars`, of the bytes read and the
            file's size. None when it was not read (skipped).
        text: The text, at most a chunk more than `max_chars` characters (`cut` fits it); None: not text.
        total_tokens: The whole file's estimated tokens (the bytes not read counted as characters).
        mime: The image's MIME type; None: not an image.
        data: The image's bytes.
        skipped: Why the file is not sent; None when it is.
    """

    sha256: str | None = None
    text: str | None = None
    total_tokens: int = 0
    mime: str | None = None
    data: bytes = b""
    skipped: str | None = None


def load(path: Path, identity: tuple[int, int], max_chars: int) -> Loaded:
    """The file at `path` as text or as an image, or why it is skipped; in an anyio worker thread.

    Args:
        path: The resolved path.
        identity: (st_dev, st_ino) of the file when it was checked: a file replaced since is not read.
        max_chars: The characters of text the file may send: reading stops once it has more.

    Raises:
        anyio.get_cancelled_exc_class(): the call was cancelled (checked between chunks).
    """
    try:
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            if (status.st_dev, status.st_ino) != identity:
                return Loaded(skipped="it was replaced after it was checked; name it again")
            head = file.read(SNIFF_BYTES)
            mime = image_mime(head)
            if mime is not None:
                return _image(file, head, mime, status.st_size)
            if b"\0" in head:
                return Loaded(skipped=BINARY)
            return _text(file, head, max_chars)
    except UnicodeDecodeError:
        return Loaded(skipped=BINARY)
    except OSError as error:
        return Loaded(skipped=f"cannot be read ({error.strerror or type(error).__name__})")


def cut(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars`, at the end of a line when one ends in its second half."""
    if len(text) <= max_chars:
        return text
    kept = text[:max_chars]
    newline = kept.rfind("\n")
    return kept[: newline + 1] if newline >= max_chars // 2 else kept


def _text(file: BinaryIO, head: bytes, max_chars: int) -> Loaded:
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pieces: list[str] = []
    chars = consumed = 0
    chunk = head
    while chunk:
        digest.update(chunk)
        consumed += len(chunk)
        pieces.append(decoder.decode(chunk))
        chars += len(pieces[-1])
        if chars > max_chars:
            break  # over the cap: what lies beyond is neither read nor hashed
        anyio.from_thread.check_cancelled()
        chunk = file.read(CHUNK_BYTES)
    else:
        decoder.decode(b"", final=True)  # a multi-byte character cut short at the end
    text = "".join(pieces)
    if chars <= max_chars:
        return Loaded(digest.hexdigest(), text, estimated_tokens(len(text)))
    size = max(consumed, os.fstat(file.fileno()).st_size)
    digest.update(f"\0{size}".encode())  # a file cut is known by what was read of it and its size
    return Loaded(digest.hexdigest(), text, estimated_tokens(len(text) + size - consumed))


def _image(file: BinaryIO, head: bytes, mime: str, size: int) -> Loaded:
    over = f"over the {MAX_IMAGE_BYTES:,}-byte limit"
    if size > MAX_IMAGE_BYTES:
        return Loaded(skipped=f"an image of {size:,} bytes, {over}")
    data = bytearray(head)
    while len(data) <= MAX_IMAGE_BYTES:  # bounded, even if it grows meanwhile
        anyio.from_thread.check_cancelled()
        chunk = file.read(min(CHUNK_BYTES, MAX_IMAGE_BYTES + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > MAX_IMAGE_BYTES:
        return Loaded(skipped=f"an image that grew past {MAX_IMAGE_BYTES:,} bytes while it was read, {over}")
    return Loaded(hashlib.sha256(data).hexdigest(), mime=mime, data=bytes(data))
