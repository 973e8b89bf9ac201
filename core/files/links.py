"""Secrets by identity, not by name: a hard link gives a secret's bytes a second, innocent name
(`ln ~/.ssh/id_rsa notes.txt`), which the name rules of core/files/rules.py cannot see. So a file about to
be read is compared, by device and inode, with the secrets the server can find cheaply:

- the server's own credentials file, always (a stat a call), whatever its name and links;
- when the file has more than one link (`st_nlink > 1`; ordinary files have one): every file that a
  secrets rule names in the file's own directory, at the top of each root and of the home directory, and
  in the secret directories found there (`.ssh/`, `.aws/`, `.gnupg/`... two levels down), and the secrets
  a glob earlier in the same call skipped. These are gathered once a call, when the first such file shows up, and
  at most `MAX_SCANNED` entries.

What this cannot catch: a hard link to a secret that lies elsewhere (another project's `.env`, a key
deeper in a root than the places above), since finding every name of an inode means walking the disk; a
copy, which is not a link at all; a secret whose name breaks no rule. Those the user must not name.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from pathlib import Path

from core.files.rules import SECRET_DIRS, printable, refusal

__all__ = ["MAX_SCANNED", "SecretLinks"]

MAX_SCANNED = 5_000  # directory entries looked at a call, at most: a huge home directory is not walked
_DEPTH = 2  # how far into a secret directory (.ssh/, .git/...) its files are gathered

_Identity = tuple[int, int]  # (st_dev, st_ino)
_NEVER = "never read, whatever the roots: "  # how every secrets rule begins (core.files.rules.refusal)


class SecretLinks:
    """The secrets of one call by identity, gathered when first needed (in the reading worker thread).

    Args:
        roots: The resolved roots of the call.
        always: Files refused by identity whatever their links (the server's credentials file).
    """

    def __init__(self, roots: Iterable[Path], always: Iterable[Path]) -> None:
        self._roots = tuple(roots)
        self._always = {identity: path for path in always if (identity := _identity(path)) is not None}
        self._secrets: dict[_Identity, Path] = {}
        self._pending: list[Path] = []  # secrets a glob skipped, stat'ed only if a linked file shows up
        self._scanned: set[Path] = set()
        self._wide = False  # the roots and the home directory have been looked at
        self._budget = MAX_SCANNED

    def skipped(self, path: Path) -> None:
        """Remember `path`, a secret by its name that a glob skipped: a link to it is a secret too."""
        self._pending.append(path)

    def refusal(self, path: Path, status: os.stat_result) -> str | None:
        """Why the file at `path` (resolved; `status` its stat) is never read although its name breaks no
        rule: it is the server's credentials file, or a hard link to a secret; None when it is neither."""
        identity = (status.st_dev, status.st_ino)
        if identity in self._always:
            where = printable(str(self._always[identity]))
            return f"{_NEVER}the server's own credentials file ({where})"
        if status.st_nlink < 2:
            return None
        if not self._wide:
            self._wide = True
            for place in (*self._roots, Path("~").expanduser()):
                self._scan(place, 0)
        self._scan(path.parent, 0)
        for pending in self._pending:
            if (found := _identity(pending)) is not None:
                self._secrets.setdefault(found, pending)
        self._pending.clear()
        secret = self._secrets.get(identity)
        if secret is None or secret == path:
            return None
        rule = (refusal(secret) or "a secret").removeprefix(_NEVER)
        return f"{_NEVER}a hard link to {printable(str(secret))}: {rule}"

    def _scan(self, directory: Path, depth: int) -> None:
        """Gather the secrets in `directory`: by name at the top, every file inside a secret directory."""
        if directory in self._scanned or self._budget <= 0:
            return
        self._scanned.add(directory)
        inside = depth > 0 or any(part.lower() in SECRET_DIRS for part in directory.parts)
        try:
            with os.scandir(directory) as listing:
                entries = list(itertools.islice(listing, self._budget))  # a huge directory is not listed whole
        except OSError:
            return  # unreadable or gone: nothing to gather there
        self._budget -= len(entries)
        for entry in entries:
            try:
                if entry.is_dir():
                    if (inside or entry.name.lower() in SECRET_DIRS) and depth < _DEPTH:
                        self._scan(Path(entry.path), depth + 1)
                elif inside or refusal(entry.name) is not None:
                    status = entry.stat()
                    self._secrets.setdefault((status.st_dev, status.st_ino), Path(entry.path))
            except OSError:
                continue  # a broken link, a file gone meanwhile


def _identity(path: Path) -> _Identity | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino
