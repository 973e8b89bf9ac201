"""What `files` may name, as pure functions: the paths refused outright (a control character in them),
the secrets never read, the roots files are read from, the images recognised by their first bytes, how
many estimated tokens the files of one call may take, and how names and contents are quoted so that no
file can forge the structure of the prompt around it.

Nothing here touches the file system; core/files/reader.py reads the files by these rules (and core/files/links.py
finds the secrets that a hard link gives an innocent name).
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import math
import os
import re
import unicodedata
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from types import MappingProxyType

from core.config.defaults import ANSWER_RESERVE_TOKENS, CHARS_PER_TOKEN, FILES_SHARE
from core.config.settings import Settings
from core.errors import FileRefused

__all__ = [
    "ALLOWED_ROOTS_ENV",
    "GLOB_CHARS",
    "MIN_FILES_BUDGET_TOKENS",
    "SECRET_DIRS",
    "SECRET_NAMES",
    "allowed_roots",
    "control_character",
    "estimated_tokens",
    "fence",
    "files_budget",
    "image_mime",
    "is_glob",
    "printable",
    "quoted",
    "refusal",
    "without_roots",
]

# A file whose name matches one of these (case ignored) is never read, whatever the roots.
SECRET_NAMES: Mapping[str, str] = MappingProxyType(
    {
        ".env*": "environment files",
        "*.pem": "keys and certificates",
        "*.key": "keys",
        "*.p12": "keys and certificates",
        "*.pfx": "keys and certificates",
        "*.crt": "certificates",
        "*.cer": "certificates",
        "*.jks": "key stores",
        "*.keystore": "key stores",
        "*.ppk": "PuTTY keys",
        "*.kdbx": "password databases",
        "id_*": "SSH keys",
        "credentials.json": "credentials files",
        ".netrc": "login files",
        "_netrc": "login files",
        ".pgpass": "PostgreSQL passwords",
        ".pypirc": "package-index tokens",
        ".npmrc": "package-index tokens",
        ".git-credentials": "git credentials",
        ".htpasswd": "password files",
    }
)
# Nothing inside a directory of one of these names (anywhere in the path, case ignored) is ever read.
SECRET_DIRS: Mapping[str, str] = MappingProxyType(
    {
        ".ssh": "SSH keys and configuration",
        ".aws": "AWS credentials",
        ".gnupg": "GnuPG keys",
        ".git": "a git repository's internals: hooks, remotes with tokens",
        ".kube": "Kubernetes credentials",
        ".docker": "registry credentials",
        ".azure": "Azure credentials",
    }
)
GLOB_CHARS = frozenset("*?[")
ALLOWED_ROOTS_ENV = "JUNIOR_AI_ALLOWED_ROOTS"  # the setting `allowed_roots` in the environment
# The files of one call always get at least this many estimated tokens, however small the window.
MIN_FILES_BUDGET_TOKENS = 1_000
# Unicode categories that make a path unusable: controls (C0, DEL, C1), line and paragraph separators.
_CONTROL = frozenset({"Cc", "Zl", "Zp"})
_BACKTICKS = re.compile("`+")
# First bytes → the image's MIME type: the formats every provider that takes images takes.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def refusal(path: str | PurePath) -> str | None:
    """Why `path` is never read, whatever the roots, or None when no secrets rule forbids it.

    The name rules (`SECRET_NAMES`) apply to the last component, the directory rules (`SECRET_DIRS`) to
    every component; case is ignored (a `.ENV` on a case-insensitive disk is the same file).

    Args:
        path: The path as given, or as resolved; only its text is looked at.

    Returns:
        The rule, as a user reads it after the path ("never read: environment files (.env*)").
    """
    parts = [part.lower() for part in PurePath(path).parts]
    for part in parts:
        if part in SECRET_DIRS:
            return f"never read, whatever the roots: inside {part}/ ({SECRET_DIRS[part]})"
    name = parts[-1] if parts else ""
    for pattern, what in SECRET_NAMES.items():
        if fnmatch.fnmatchcase(name, pattern):
            return f"never read, whatever the roots: {what} ({pattern})"
    return None


def control_character(path: str) -> str | None:
    """Why `path` cannot name a file: it holds a control character (NUL, a newline, a tab, DEL, a C1
    control, a Unicode line or paragraph separator); None when it holds none.

    A NUL cannot be in any file name the system takes, and the others have no business in a path someone
    types: they only serve to forge lines around the name where it is shown.
    """
    for place, char in enumerate(path, 1):
        if unicodedata.category(char) in _CONTROL:
            return (
                f"holds a control character (U+{ord(char):04X}, character {place}); a path is printable text, "
                "without NUL, newlines, tabs or other control characters"
            )
    return None


def quoted(name: str) -> str:
    """`name` in double quotes with its quotes, backslashes and every character that is not printable
    escaped (`\\n`, `\\u0000`, `\\u2028`): as the prompt shows a file's name, on one line, so that no name can
    end its own quotes or start a line of its own."""
    inner = json.dumps(name, ensure_ascii=False)[1:-1]
    return '"' + "".join(char if char.isprintable() else _escaped(char) for char in inner) + '"'


def printable(name: str) -> str:
    """`name` as it is when every character of it is printable, else `quoted(name)`: for notes and
    messages, which show ordinary names bare."""
    return name if name.isprintable() else quoted(name)


def fence(text: str) -> str:
    """The backtick fence that encloses `text` in the prompt: longer than any run of backticks in it, so
    that the text cannot close it and go on as if outside it (at least three: a Markdown code fence)."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def is_glob(pattern: str) -> bool:
    """True when `pattern` is a glob (has `*`, `?` or `[`), not one path."""
    return any(char in GLOB_CHARS for char in pattern)


def image_mime(head: bytes) -> str | None:
    """The MIME type of an image in a format the providers take (PNG, JPEG, WebP, GIF), from the file's
    first bytes; None for anything else."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return mime
    return None


def estimated_tokens(chars: int) -> int:
    """The estimated tokens of `chars` characters (no tokenizer is loaded for a budget)."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def allowed_roots(client_roots: Iterable[str | Path] | None, settings: Settings) -> tuple[Path, ...]:
    """Where `files` may be read from: the client's MCP roots when it offers any, else the configuration's
    `allowed_roots`; empty when there are neither (files are refused: `without_roots`), never the whole
    home directory by default.

    Args:
        client_roots: The client's roots, as the MCP `roots/list` gives them (`file://` URIs, as strings)
            or as paths; None when the client offers no roots. Roots that are not `file://` URIs are left
            out; when none is left, the client is taken to offer none.
        settings: The server's settings.

    Returns:
        The roots, `~` expanded, duplicates dropped, in the order given (relative `files` are read from
        the first). They are not resolved here: the reader resolves them.
    """
    roots = [root for root in map(_root_path, client_roots or ()) if root is not None]
    if not roots:
        roots = list(settings.allowed_roots or ())
    return tuple(dict.fromkeys(root.expanduser() for root in roots))


def without_roots(files: Iterable[str], settings: Settings) -> FileRefused:
    """The refusal of every path of a call when there is nowhere to read from (`allowed_roots` is empty):
    the client does not say its roots and none are configured. The first path's rule says where to set
    them; the others' say "the same"."""
    where = f"in {settings.source}" if settings.source is not None else "in credentials.json"
    rule = (
        f'this client does not say its project folders; set allowed_roots {where} ("allowed_roots": '
        f'["/path/to/project"]) or {ALLOWED_ROOTS_ENV} in the environment (paths separated by {os.pathsep!r})'
    )
    # The fix once, on the first path: a hundred paths need not repeat it a hundred times.
    rules = itertools.chain([rule], itertools.repeat("the same: no roots to read from"))
    return FileRefused(tuple((printable(path), why) for path, why in zip(files, rules, strict=False)))


def files_budget(context_windows: Iterable[int]) -> int:
    """The estimated tokens the files of one call may take: `FILES_SHARE` of the smallest context window
    among the AIs asked, less `ANSWER_RESERVE_TOKENS`, and never below `MIN_FILES_BUDGET_TOKENS`.

    Raises:
        ValueError: no context window was given (no AI is asked).
    """
    windows = list(context_windows)
    if not windows:
        raise ValueError("files_budget needs the context window of at least one AI")
    return max(MIN_FILES_BUDGET_TOKENS, int(min(windows) * FILES_SHARE) - ANSWER_RESERVE_TOKENS)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _root_path(root: str | Path) -> Path | None:
    if isinstance(root, Path):
        return root
    parsed = urllib.parse.urlsplit(root)
    if parsed.scheme.lower() != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(urllib.request.url2pathname(parsed.path)) if parsed.path else None
