"""The store's engines: SQLAlchemy's async engine (and, on SQLite, a sync one for worker threads) made
with the pragmas and transactions the store relies on, the file put in WAL mode, and why a store failed,
told from the driver's message."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.store.url import DATABASE_URL_ENV, StoreLocation

__all__ = [
    "WAL_RETRY_S",
    "async_engine",
    "explain",
    "in_one_transaction",
    "read_once",
    "sync_sqlite_engine",
    "use_wal",
]

T = TypeVar("T")
WAL_RETRY_S = 0.02  # SQLite: how often to try switching to WAL while another process holds the file


def async_engine(location: StoreLocation, *, connect_timeout_s: float, busy_timeout_s: float) -> AsyncEngine:
    """The async engine for `location`: PostgreSQL with a pre-ping, SQLite with its pragmas and migrations'
    IMMEDIATE transactions."""
    if location.backend == "postgresql":
        # pre-ping: a server restarted since the last call costs one reconnect, not a failed call.
        return create_async_engine(location.url, pool_pre_ping=True, connect_args={"timeout": connect_timeout_s})
    engine = create_async_engine(location.url, connect_args={"timeout": busy_timeout_s}, pool_reset_on_return=None)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(round(busy_timeout_s * 1000)))

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("junior_schema", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def sync_sqlite_engine(location: StoreLocation, *, busy_timeout_s: float) -> Engine:
    """A plain (sync) engine on the SQLite file, for writes batched into worker threads: the same pragmas and
    IMMEDIATE transactions as the async engine's."""
    engine = create_engine(
        location.url.replace("sqlite+aiosqlite:", "sqlite:", 1),
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        pool_reset_on_return=None,
    )
    event.listen(engine, "connect", _sqlite_pragmas(round(busy_timeout_s * 1000)))
    return engine


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    """The "connect" listener every SQLite connection gets (async and sync engines alike)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver begins a transaction itself before a write's first INSERT, UPDATE or DELETE, as
        # IMMEDIATE: it takes the write lock at once, waiting up to the busy timeout. A read (one
        # statement) needs none. Migrations, which start with DDL, begin explicitly (`_on_begin`).
        dbapi_connection.isolation_level = "IMMEDIATE"
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against a crash of the process
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


def in_one_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Runs in a worker thread: `work` in one transaction, committed unless it raises."""
    with engine.begin() as conn:
        return work(conn)


def read_once(engine: Engine, read: Callable[[Connection], T]) -> T:
    """Runs in a worker thread: `read` on a connection of `engine` (a SELECT on SQLite begins no transaction:
    each statement sees one state of the database)."""
    with engine.connect() as conn:
        return read(conn)


def use_wal(path: Path, busy_timeout_s: float) -> None:
    """Put the SQLite file in WAL mode (it stays so): readers never wait for the writer. Switching needs the
    file to itself, and SQLite answers "locked" at once, busy timeout or not, while another process opens or
    switches it: so try again until the busy timeout.

    Raises:
        sqlite3.Error: the file cannot be opened, is not a database, or stayed locked.
    """
    deadline = time.monotonic() + busy_timeout_s
    with contextlib.closing(sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)) as conn:
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                    return
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(WAL_RETRY_S)


def explain(message: str, error: BaseException, location: StoreLocation, busy_timeout_s: float) -> tuple[str, str]:
    """Why a store failed, and what to do about it: (reason, fix), from the driver's message and error."""
    where = f'{DATABASE_URL_ENV} (or "database_url" in credentials.json)'
    lowered = message.lower()
    if location.path is not None:
        path = location.path
        if "locked" in lowered:
            return (
                f"another process held its lock for over {busy_timeout_s:g} s",
                "try again; if it persists, find the process holding it (`fuser " + str(path) + "`) and stop it",
            )
        if "not a database" in lowered or "malformed" in lowered:
            return (
                f"{path} is not a SQLite database, or is corrupt ({message})",
                f"move {path} aside (its threads are lost) so that a new one is made, or set {where}",
            )
        if os.path.isdir(path):
            return (f"{path} is a directory, not a file", f"rename or remove the directory {path}, or set {where}")
        if "unable to open" in lowered or isinstance(error, OSError):
            return (f"{path} cannot be opened ({message})", f"make {path.parent} a writable directory, or set {where}")
        if "readonly" in lowered or "read-only" in lowered:
            return (f"{path} cannot be written ({message})", f"give this user write access to {path}, or set {where}")
        return (message, f"check {path}, or set {where}")
    if isinstance(error, TimeoutError) or "timeout" in lowered:
        return ("PostgreSQL did not answer in time", f"check that the server in {where} is up and reachable")
    if isinstance(error, OSError) or "connect call failed" in lowered or "connection refused" in lowered:
        return (f"PostgreSQL cannot be reached ({message})", f"start it, or fix the host and port in {where}")
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        return (f"PostgreSQL refused the login ({message})", f"fix the user and password in {where}")
    if "does not exist" in lowered:
        return (message, f"create it (createdb), or fix the database name in {where}")
    return (message, f"check the server and the URL in {where}")
