"""The server reads `files` itself: text files into the prompt with their paths, images as images, only
inside the allowed roots, never a secret, within the call's budget of estimated tokens and its time.

    bundle = await read_files(["src/*.py", "diagram.png"], roots, budget_tokens=50_000, max_file_tokens=20_000)
    bundle.text    # '--- "src/a.py" ---\\n```\\n...\\n```\\n' for the prompt
    bundle.images  # the PNG, for the AIs that take images
    bundle.notes   # what was skipped, cut or unchanged, and why; one line each, for the user
    bundle.hashes  # path → sha256, for the thread to pass back as `known` next time

A path named explicitly that cannot be read raises `FileRefused`, listing every refusal of the call;
what a glob matches that cannot be read is skipped with a note. The rules themselves are pure functions
in core/files/rules.py; hard links to secrets are found by core/files/links.py.

In the prompt each file's name is quoted (`file_rules.quoted`: no name can end its quotes or start a line)
and its text is fenced by more backticks than it holds (`file_rules.fence`): no name and no content can
forge the boundary of another file. No file is read past what it may send: a text file stops at
`max_file_tokens` (what lies beyond is neither read nor hashed, however large the file), an image at
`MAX_IMAGE_BYTES`, checked on its size before it is read. The reading runs in a worker thread that checks
between chunks whether the call was cancelled (by the client, or by `timeout_s`), and stops there.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePath
from types import MappingProxyType

import anyio
import anyio.from_thread
import anyio.to_thread

from core.config.defaults import CHARS_PER_TOKEN, MAX_FILES
from core.errors import FileRefused, InvalidRequest
from core.files.links import SecretLinks
from core.files.loading import cut, load
from core.files.rules import control_character, estimated_tokens, fence, is_glob, printable, quoted, refusal

__all__ = ["MAX_GLOB_MATCHES", "MAX_NOTES", "FileBundle", "Image", "read_files"]

MAX_GLOB_MATCHES = 10 * MAX_FILES  # what one glob may yield (directories and skipped files included)
MAX_NOTES = 50  # notes beyond these are counted in one last note, so a wide glob cannot flood the answer
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Image:
    """An image file, for the AIs that take image parts.

    Attributes:
        name: The path as shown to the user and the AI.
        mime: "image/png", "image/jpeg", "image/webp" or "image/gif" (from the first bytes, not the name).
        data: The file's bytes.
    """

    name: str
    mime: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of `data`."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class FileBundle:
    """What `read_files` made of the `files` of one call.

    Attributes:
        text: The text files for the prompt, each under a '--- "path" ---' line (the path quoted), its text
            in a fence of backticks it cannot close; "" when there are none.
        images: The images, in the order they were named.
        notes: One line each, for the user: what was skipped, cut or left unchanged, and why.
        hashes: Path as shown → hex SHA-256 of the whole file, for every file read or found unchanged; of a
            file over `max_file_tokens`, of the bytes read and the file's size (it is never read whole).
    """

    text: str = ""
    images: tuple[Image, ...] = ()
    notes: tuple[str, ...] = ()
    hashes: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


async def read_files(
    patterns: Iterable[str],
    roots: Iterable[Path],
    *,
    budget_tokens: int,
    max_file_tokens: int,
    known: Mapping[str, str] = _EMPTY,
    secret_files: Iterable[Path] = (),
    timeout_s: float | None = None,
) -> FileBundle:
    """Read the files that `patterns` name, in a worker thread that stops when the call is cancelled.

    Args:
        patterns: Paths or globs (`*`, `?`, `[...]`, `**` for any depth); relative ones are read from the
            first root, absolute ones must lie inside some root. `~` is the user's home. Hidden files and
            directories match a glob only when the pattern names them.
        roots: Where files may be read from (see `core.files.rules.allowed_roots`); at least one.
        budget_tokens: The estimated tokens all the text files together may take (`files_budget`).
        max_file_tokens: The estimated tokens one text file may take.
        known: Path as shown → SHA-256 of the files already sent in this thread: an unchanged one is not
            sent again, a changed one is sent as the new version.
        secret_files: Files never read, by identity, whatever their names and links (the server's
            credentials file).
        timeout_s: How long the reading may take; None: as long as the caller waits.

    Returns:
        The text, images, notes and hashes (see `FileBundle`).

    Raises:
        FileRefused: a path named explicitly holds a control character, is a secret (by name, or a hard
            link to one), lies outside the roots, is missing, a directory or not a regular file, or a glob
            matches nothing (the message lists every such refusal of the call); or the reading took longer
            than `timeout_s` (the refusal names what was being read).
        InvalidRequest: no root was given.
    """
    named = (patterns,) if isinstance(patterns, str) else tuple(patterns)  # one path is not its characters
    progress = _Progress(named[0] if named else "")
    job = partial(_read, named, tuple(roots), budget_tokens, max_file_tokens, known, tuple(secret_files), progress)
    # Abandoned on cancel, the thread does not run on: it checks the cancel scopes between chunks and stops.
    with anyio.move_on_after(math.inf if timeout_s is None else timeout_s):
        return await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
    why = f"still being read after {timeout_s:.3g} s, the time this call gives its files"
    raise FileRefused(((printable(progress.at), f"{why}; name fewer or smaller files, or give a longer deadline_s"),))


class _Progress:
    """What the worker thread is reading now, for the refusal when the time runs out."""

    def __init__(self, at: str) -> None:
        self.at = at


@dataclass(frozen=True, slots=True)
class _Found:
    shown: str  # the path as the user and the AI see it
    path: Path  # resolved: symlinks and `..` followed
    identity: tuple[int, int]  # (st_dev, st_ino) when it was checked: what is opened must be the same file


def _read(
    patterns: tuple[str, ...],
    given_roots: tuple[Path, ...],
    budget_tokens: int,
    max_file_tokens: int,
    known: Mapping[str, str],
    secret_files: tuple[Path, ...],
    progress: _Progress,
) -> FileBundle:
    if not given_roots:
        raise InvalidRequest("files cannot be read: no allowed root (the client's roots, or allowed_roots)")
    roots = tuple(dict.fromkeys(root.expanduser().resolve() for root in given_roots))
    links = SecretLinks(roots, secret_files)
    notes: list[str] = []  # about one file each; capped at MAX_NOTES
    general: list[str] = []  # about the call (files or matches cut): always kept
    refused: list[tuple[str, str]] = []
    found: dict[Path, _Found] = {}
    for pattern in patterns:
        progress.at = pattern
        if rule := control_character(pattern):
            refused.append((printable(pattern), rule))  # quoted: the message must not print a NUL or a newline
            continue
        if is_glob(pattern):
            outcome = _globbed(pattern, roots, links, notes, general)
        else:
            outcome = _named(pattern, roots, links)
        if isinstance(outcome, str):
            refused.append((pattern, outcome))
            continue
        for one in outcome:
            found.setdefault(one.path, one)  # a file matched twice is read once
    if refused:
        raise FileRefused(tuple(refused))
    files = list(found.values())
    if len(files) > MAX_FILES:
        general.append(
            f"more than {MAX_FILES} files matched; the first {MAX_FILES} were read (at most {MAX_FILES} a call)"
        )
        files = files[:MAX_FILES]
    bundle = _bundle(files, budget_tokens, max_file_tokens, known, notes, progress)
    return replace(bundle, notes=bundle.notes + tuple(general))


def _bundle(
    files: list[_Found],
    budget_tokens: int,
    max_file_tokens: int,
    known: Mapping[str, str],
    notes: list[str],
    progress: _Progress,
) -> FileBundle:
    blocks: list[str] = []
    images: list[Image] = []
    hashes: dict[str, str] = {}
    remaining = budget_tokens
    for one in files:
        progress.at = one.shown
        shown = printable(one.shown)
        # Read to the file's own cap whatever the budget left: its hash does not depend on the order.
        loaded = load(one.path, one.identity, max_file_tokens * CHARS_PER_TOKEN)
        cap = max(0, min(max_file_tokens, remaining))
        before = known.get(one.shown)
        if loaded.skipped is not None or loaded.sha256 is None:
            notes.append(f"{shown}: skipped: {loaded.skipped}")
            continue
        if before == loaded.sha256:
            hashes[one.shown] = loaded.sha256
            notes.append(f"{shown}: unchanged since it was last sent in this thread")
            continue
        if loaded.text is not None and cap == 0:
            notes.append(f"{shown}: skipped: the files' budget of ~{budget_tokens:,} estimated tokens is spent")
            continue
        hashes[one.shown] = loaded.sha256
        if before is not None:
            notes.append(f"{shown}: changed since it was last sent in this thread; sent as the new version")
        if loaded.mime is not None:
            images.append(Image(one.shown, loaded.mime, loaded.data))
        elif loaded.text is not None:
            why = "max_file_tokens" if cap == max_file_tokens else "the files' budget for this call"
            text = cut(loaded.text, cap * CHARS_PER_TOKEN)
            block, used = _text_block(one.shown, text, loaded.total_tokens, why, before is not None, notes)
            blocks.append(block)
            remaining -= used
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES:] = [f"... and {len(notes) - MAX_NOTES:,} more notes"]
    return FileBundle("".join(blocks), tuple(images), tuple(notes), MappingProxyType(hashes))


def _text_block(shown: str, text: str, total_tokens: int, why: str, changed: bool, notes: list[str]) -> tuple[str, int]:
    """The file as the prompt shows it: a line with its quoted path (and whether it was cut, or is a new
    version), then its text in a fence it cannot close; and the estimated tokens it takes. A cut is noted."""
    header = quoted(shown)
    used = estimated_tokens(len(text))
    if total_tokens > used:
        cut_to = f"cut to ~{used:,} of ~{total_tokens:,} estimated tokens"
        notes.append(f"{printable(shown)}: {cut_to} ({why})")
        header += f" ({cut_to})"
    if changed:
        header += " (new version)"
    ending = "" if text.endswith("\n") or not text else "\n"
    fenced = fence(text)
    return f"--- {header} ---\n{fenced}\n{text}{ending}{fenced}\n", used


def _named(pattern: str, roots: tuple[Path, ...], links: SecretLinks) -> list[_Found] | str:
    """The one file `pattern` names, or the rule that refuses it."""
    given = Path(pattern).expanduser()
    if not pattern.strip():
        return "an empty path"
    if rule := refusal(given):
        return rule
    path = given if given.is_absolute() else roots[0] / given
    resolved = _resolve(path)
    if resolved is None:
        return "cannot be resolved (a symlink loop?)"
    if not _inside(resolved, roots):
        return _outside(resolved, path, roots)
    if rule := refusal(resolved):
        return f"{rule}; it leads to {printable(str(resolved))}"
    try:
        status = resolved.stat()
    except FileNotFoundError:
        where = "" if given.is_absolute() else f" (relative paths are read from {roots[0]})"
        return f"no such file{where}"
    except OSError as error:
        return f"cannot be read ({error.strerror or type(error).__name__})"
    if stat.S_ISDIR(status.st_mode):
        return f"a directory; name its files, or a glob such as '{pattern.rstrip('/')}/**/*.py'"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a device, socket or pipe)"
    if rule := links.refusal(resolved, status):
        return rule
    return [_Found(_shown(path, roots[0]), resolved, (status.st_dev, status.st_ino))]


def _globbed(
    pattern: str, roots: tuple[Path, ...], links: SecretLinks, notes: list[str], general: list[str]
) -> list[_Found] | str:
    """The files `pattern` matches (at most one more than MAX_FILES, so a huge tree is not walked to its
    end), secrets and escapes left out with a note; or the rule that refuses the whole glob."""
    given = os.path.expanduser(pattern)
    absolute = os.path.isabs(given)
    base = roots[0]
    fixed = _fixed_part(given)
    anchor = _resolve(Path(fixed) if absolute else base / fixed)
    if anchor is None or not _inside(anchor, roots):
        return _outside(anchor, Path(fixed) if absolute else base / fixed, roots)
    matches: list[_Found] = []
    seen_a_file = False
    found = glob.iglob(given, root_dir=None if absolute else base, recursive=True)
    for looked, match in enumerate(found, 1):
        if looked > MAX_GLOB_MATCHES:  # directories, skipped files: a symlink to / must not walk the disk
            general.append(f"{pattern}: stopped after {MAX_GLOB_MATCHES:,} matches; a narrower glob reads the rest")
            break
        anyio.from_thread.check_cancelled()
        path = Path(match) if absolute else base / match
        resolved = _resolve(path)
        status = _regular(resolved)
        if resolved is None or status is None:
            continue  # a directory, a broken link, a pipe: a glob is about files
        seen_a_file = True
        shown = printable(_shown(path, base))
        if rule := refusal(match) or refusal(resolved):
            notes.append(f"{shown}: skipped: {rule}")
            links.skipped(resolved)
        elif not _inside(resolved, roots):
            notes.append(f"{shown}: skipped: it leads outside the allowed roots (to {printable(str(resolved))})")
        elif rule := links.refusal(resolved, status):
            notes.append(f"{shown}: skipped: {rule}")
        else:
            matches.append(_Found(_shown(path, base), resolved, (status.st_dev, status.st_ino)))
            if len(matches) > MAX_FILES:
                break
    if not seen_a_file:
        where = "" if absolute else f" (globs are read from {base})"
        return f"no file matches{where}; hidden files and directories match only when the pattern names them"
    return sorted(matches, key=lambda one: one.shown)


def _regular(path: Path | None) -> os.stat_result | None:
    """The stat of `path` when it is a regular file, else None."""
    try:
        status = path.stat() if path is not None else None
    except OSError:
        return None
    return status if status is not None and stat.S_ISREG(status.st_mode) else None


def _fixed_part(pattern: str) -> str:
    """The leading directories of a glob that have no glob character ("." when the first one has)."""
    parts = PurePath(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if is_glob(part):
            break
        fixed.append(part)
    return str(PurePath(*fixed)) if fixed else "."


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        return None


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _outside(resolved: Path | None, path: Path, roots: tuple[Path, ...]) -> str:
    """The refusal of `path` (as written, joined to the first root when relative), resolved to `resolved`."""
    allowed = ", ".join(str(root) for root in roots)
    where = ""
    if resolved is not None and resolved != Path(os.path.normpath(path)):
        where = f" (it leads to {printable(str(resolved))})"  # a symlink on the way
    elif resolved is not None and ".." in path.parts:
        where = f" ({printable(str(resolved))})"
    return f"outside the allowed roots{where}; files are read only inside: {allowed}"


def _shown(path: Path, base: Path) -> str:
    """The path as shown: relative to the first root when it lies under it (as written), else absolute."""
    normal = PurePath(os.path.normpath(path))
    return str(normal.relative_to(base)) if normal.is_relative_to(base) else str(normal)
