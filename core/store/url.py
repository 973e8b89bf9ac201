"""Where the store lives: its URL, from the settings or the default file in the user's data directory,
checked and fit to show. No SQLAlchemy here, so that the start path and `--check` can use it for free.

    store_url(settings)     "sqlite+aiosqlite:////home/me/.local/share/junior-ai/junior.db" when nobody said
    parse_store_url(url)    StoreLocation(url, backend, shown, path), or StoreUnavailable saying what to write
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from core.config.settings import Settings
from core.errors import StoreUnavailable
from core.redact import safe_url

__all__ = [
    "DATABASE_FILE",
    "DATABASE_URL_ENV",
    "STORE_MODULES",
    "StoreLocation",
    "data_dir",
    "default_database_url",
    "parse_store_url",
    "store_url",
]

DATABASE_URL_ENV = "JUNIOR_AI_DATABASE_URL"  # or "database_url" in credentials.json
DATA_DIR_NAME = "junior-ai"
DATABASE_FILE = "junior.db"
SQLITE = "sqlite+aiosqlite"
POSTGRESQL = "postgresql+asyncpg"
# What people write for each backend, and the async driver this project speaks it with.
_DRIVERS: Mapping[str, str] = MappingProxyType(
    {
        "sqlite": SQLITE,
        SQLITE: SQLITE,
        "postgresql": POSTGRESQL,
        "postgres": POSTGRESQL,
        POSTGRESQL: POSTGRESQL,
    }
)
# What opening the store imports (about 0.2 s): the server imports them in the background after start,
# so that the first call that records a thread does not pay for it (ai/warmup.py).
STORE_MODULES = ("core.store.database", "sqlalchemy.dialects.sqlite.aiosqlite", "aiosqlite")
_EXAMPLES = (
    f"{SQLITE}:////absolute/path/junior.db (one machine), or {POSTGRESQL}://user:password@host:5432/dbname "
    f'(several servers sharing one store), in {DATABASE_URL_ENV} or "database_url" in credentials.json'
)

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class StoreLocation:
    """A checked store URL.

    Attributes:
        url: The URL to connect with, its driver the async one (`postgres://` becomes `postgresql+asyncpg://`).
        backend: "sqlite" or "postgresql".
        shown: The URL as it may be shown: its password masked.
        path: SQLite's file; None for PostgreSQL.
    """

    url: str
    backend: Backend
    shown: str
    path: Path | None


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's data directory for this project: `$XDG_DATA_HOME/junior-ai`, else `~/.local/share/junior-ai`
    (an `XDG_DATA_HOME` that is not absolute is ignored, as the XDG specification says)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        home = env.get("HOME") or str(Path.home())
        base = os.path.join(home, ".local", "share")
    return Path(base) / DATA_DIR_NAME


def default_database_url(env: Mapping[str, str] | None = None) -> str:
    """The SQLite file in the user's data directory, as a URL."""
    return f"{SQLITE}:///{data_dir(env) / DATABASE_FILE}"


def store_url(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The store the settings name (`database_url`, itself from `JUNIOR_AI_DATABASE_URL` or credentials.json),
    else the default file."""
    return settings.database_url or default_database_url(env)


def parse_store_url(url: str) -> StoreLocation:
    """`url` checked: a SQLite file by its absolute path (`~` expanded), or a PostgreSQL server.

    Raises:
        StoreUnavailable: not a URL of either, an in-memory or relative SQLite path; says what to write.
    """
    shown = safe_url(url)
    scheme, separator, rest = url.partition("://")
    driver = _DRIVERS.get(scheme.lower())
    if not separator or driver is None:
        raise StoreUnavailable(shown, "not a database URL this server can use", f"write {_EXAMPLES}")
    if driver == SQLITE:
        raw = urllib.parse.unquote(rest.partition("?")[0].removeprefix("/"))
        path = Path(raw).expanduser()
        if raw in {"", ":memory:"} or not path.is_absolute():
            why = "an in-memory database would forget everything" if raw in {"", ":memory:"} else "a relative path"
            raise StoreUnavailable(shown, f"{why}: the store is a file", f"give the file's absolute path: {_EXAMPLES}")
        return StoreLocation(f"{SQLITE}:///{path}", "sqlite", safe_url(f"{SQLITE}:///{path}"), path)
    try:
        host = urllib.parse.urlsplit(f"postgresql://{rest}").hostname
    except ValueError as error:
        raise StoreUnavailable(shown, f"the URL cannot be read ({error})", f"write {_EXAMPLES}") from None
    if not host:
        raise StoreUnavailable(shown, "the URL names no host", f"write {_EXAMPLES}")
    full = f"{POSTGRESQL}://{rest}"
    return StoreLocation(full, "postgresql", safe_url(full), None)
