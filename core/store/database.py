"""The store: threads, their turns, the models cache, the ledger, the rate counts, the jobs and the CLI
sessions, in SQLite (one file, the default) or PostgreSQL (several servers sharing it), through SQLAlchemy's
async Core.

    async with Store(store_url(settings)) as store:      # opens: connects, migrates
        thread = await store.threads.create("Review the importer")
        await store.threads.append(thread, [NewTurn("user", "Is this safe?")])

The application opens it on first use (`Junior.store()`), never on the start path: importing this module
imports SQLAlchemy. Every failure to open or use it is a `StoreUnavailable` saying why and what to do, so
that a caller can go on without it.

SQLite runs in WAL mode with a busy timeout, so that two servers (Claude Desktop's and Claude Code's) can
share one file: readers never wait, and a writer waits its turn. Every write transaction there is
`BEGIN IMMEDIATE` (it takes the write lock at once, so a transaction that reads and then writes cannot
lose a race to another process), and writes from one process take turns on a lock rather than polling
SQLite's. On PostgreSQL, migrations hold an advisory lock, and appending to a thread locks its row.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.config import defaults
from core.errors import StoreUnavailable, UnknownThread
from core.redact import Redactor, url_secrets
from core.store.batch import Operation, WriteBatcher
from core.store.cli_sessions import CliSessions
from core.store.engines import async_engine, explain, in_one_transaction, read_once, sync_sqlite_engine, use_wal
from core.store.jobs import Jobs
from core.store.ledger import Ledger
from core.store.rates import Rates
from core.store.schema import LATEST_VERSION, MIGRATIONS, SCHEMA_VERSION_DDL, models_cache, schema_version
from core.store.threads import Threads
from core.store.url import DATABASE_URL_ENV, StoreLocation, parse_store_url

__all__ = ["CachedModels", "Store"]

T = TypeVar("T")
InThreadRunner = Callable[[Engine, Callable[[Connection], T]], T]  # in_one_transaction, read_once

# Any constant will do: it names the lock that makes concurrent opens migrate one at a time (PostgreSQL).
MIGRATION_LOCK_KEY = 0x4A554E494F52  # "JUNIOR"
CLOSE_TIMEOUT_S = 1.0  # closing what a cancelled open had opened, at most
# What a database failure looks like from here: SQLAlchemy's errors, the drivers' own, the network's.
_FAILURES = (SQLAlchemyError, sqlite3.Error, OSError)


@dataclass(frozen=True)
class CachedModels:
    """An AI's model list as last fetched: the provider's JSON, and when (seconds since the epoch)."""

    json: str
    fetched_at: float


class Store:
    """The store at one URL. `open()` connects and migrates; `aclose()` (or leaving `async with`) closes.

    Attributes:
        location: The checked URL, once opened (its `shown` form is safe to print).
        applied: The migrations the last `open()` applied (empty when the schema was already current).
    """

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_s: float = defaults.STORE_BUSY_TIMEOUT_S,
        connect_timeout_s: float = defaults.STORE_CONNECT_TIMEOUT_S,
        open_timeout_s: float = defaults.STORE_OPEN_TIMEOUT_S,
        thread_ttl_s: float = defaults.THREAD_TTL_DAYS * 86_400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.thread_ttl_s = thread_ttl_s
        self.busy_timeout_s = busy_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.open_timeout_s = open_timeout_s
        self.clock = clock
        self.location: StoreLocation | None = None
        self.applied: tuple[int, ...] = ()
        self._engine: AsyncEngine | None = None
        self._redactor = Redactor(url_secrets(url))
        self._threads = Threads(self)
        self._ledger = Ledger(self)
        self._rates = Rates(self)
        self._jobs = Jobs(self)
        self._cli_sessions = CliSessions(self)
        self._one_writer = anyio.Lock()  # SQLite: this process's writes take turns here, not on SQLite's lock
        self._batcher = WriteBatcher(
            self._one_writer, self._transaction, in_thread=self._in_thread, refused=(UnknownThread,)
        )
        self._sync_engine: Engine | None = None  # SQLite: batched writes in one worker-thread call (`_in_thread`)

    @property
    def engine(self) -> AsyncEngine:
        """The open engine (for diagnostics and tests).

        Raises:
            StoreUnavailable: the store is not open.
        """
        if self._engine is None:
            raise StoreUnavailable(self._shown(), "it is not open", "open it first (Store.open)")
        return self._engine

    async def open(self) -> Self:
        """Connect and bring the schema up to date, in one transaction. Opening an open store does nothing.

        Raises:
            StoreUnavailable: a bad URL, a file that cannot be opened or is not a database, a lock held too
                long, a server that cannot be reached or refuses us, or a schema newer than this code.
        """
        if self._engine is not None:
            return self
        location = parse_store_url(self.url)
        self.location = location
        if location.path is not None:
            try:
                location.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                await anyio.to_thread.run_sync(use_wal, location.path, self.busy_timeout_s, abandon_on_cancel=True)
            except (OSError, sqlite3.Error) as error:
                raise self._unavailable(error) from error
        self._engine = async_engine(
            location, connect_timeout_s=self.connect_timeout_s, busy_timeout_s=self.busy_timeout_s
        )
        try:
            with anyio.fail_after(self.open_timeout_s):
                self.applied = await self._migrate()
        except TimeoutError as error:
            await self.aclose()
            raise self._unavailable(error) from error
        except BaseException:
            # Cancelled while opening: still close what was opened, but never hold the cancellation up long.
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S):
                await self.aclose()
            raise
        return self

    async def aclose(self) -> None:
        """Close every connection. Safe to call more than once."""
        engine, self._engine = self._engine, None
        sync_engine, self._sync_engine = self._sync_engine, None
        if sync_engine is not None:
            await anyio.to_thread.run_sync(sync_engine.dispose)
        if engine is not None:
            await engine.dispose()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def schema_version(self) -> int:
        """The schema's version as the database records it (0: none)."""
        async with self.read() as conn:
            return await conn.scalar(select(func.coalesce(func.max(schema_version.c.version), 0))) or 0

    async def save_models(self, ai: str, json: str) -> None:
        """Remember AI `ai`'s model list (the provider's JSON), fetched now, replacing the last one.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        dialect = postgresql if self.backend == "postgresql" else sqlite
        values = {"ai": ai, "fetched_at": self.clock(), "json": json}
        upsert = dialect.insert(models_cache).values(**values)
        upsert = upsert.on_conflict_do_update(
            index_elements=["ai"], set_={"fetched_at": values["fetched_at"], "json": json}
        )
        async with self.write() as conn:
            await conn.execute(upsert)

    async def cached_models(self, ai: str) -> CachedModels | None:
        """AI `ai`'s model list as last saved, or None.

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        query = select(models_cache.c.json, models_cache.c.fetched_at).where(models_cache.c.ai == ai)
        async with self.read() as conn:
            row = (await conn.execute(query)).first()
        return CachedModels(row.json, row.fetched_at) if row is not None else None

    @property
    def threads(self) -> Threads:
        """The threads and their turns (core/store/threads.py)."""
        return self._threads

    @property
    def ledger(self) -> Ledger:
        """One row per provider call, and the spending caps' reservations (core/store/ledger.py)."""
        return self._ledger

    @property
    def jobs(self) -> Jobs:
        """Calls that handed off and go on in the background (core/store/jobs.py)."""
        return self._jobs

    @property
    def cli_sessions(self) -> CliSessions:
        """The session each CLI AI has in a thread (core/store/cli_sessions.py)."""
        return self._cli_sessions

    @property
    def rates(self) -> Rates:
        """Each caller's requests per minute, for the HTTP mode's rate limits (core/store/rates.py)."""
        return self._rates

    # -- transactions ---------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection to read with (on SQLite, each statement on its own sees one state of the database:
        reads that must agree are one statement); a database failure is `StoreUnavailable`."""
        async with self._transaction() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def write(self, *, schema: bool = False) -> AsyncIterator[AsyncConnection]:
        """One write transaction (on SQLite, this process's writers take turns, and the transaction starts
        with the first INSERT, UPDATE or DELETE, or at once when it changes the `schema`); failures as
        `read`."""
        async with contextlib.AsyncExitStack() as stack:
            if self.backend == "sqlite":
                await stack.enter_async_context(self._one_writer)
            conn = await stack.enter_async_context(self._transaction(schema=schema))
            yield conn

    @property
    def write_batches(self) -> int:
        """SQLite: how many shared write transactions `batched` has run."""
        return self._batcher.batches

    async def batched(self, operation: Operation[T]) -> T:
        """Run the write `operation` and return its result once committed. On SQLite, the writes waiting at
        the same moment share one transaction (core/store/batch.py); `operation` may raise UnknownThread
        only before it writes. On PostgreSQL, its own transaction (row locks let writers run side by side).

        Raises:
            StoreUnavailable: the store cannot be written.
            UnknownThread: as `operation` raised it.
        """
        if self.backend == "sqlite":
            return await self._batcher.run(operation)
        async with self.write() as conn:
            return await operation(conn)

    async def batched_insert(self, table: Table, values: dict[str, Any]) -> None:
        """Insert one row of `table`, returning once it is committed. On SQLite, the rows waiting at the same
        moment go in one transaction and one statement (core/store/batch.py); on PostgreSQL, a transaction
        of its own.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        if self.backend == "sqlite":
            await self._batcher.insert(table, values)
            return
        async with self.write() as conn:
            await conn.execute(insert(table).values(values))

    async def batched_sync(self, operation: Callable[[Connection], T]) -> T:
        """Run the write `operation`, a function of a sync connection, and return its result once committed.
        On SQLite, with the writes waiting at the same moment, in one transaction in one worker-thread call
        (core/store/batch.py); `operation` may raise UnknownThread only before it writes. On PostgreSQL, its
        own transaction (through SQLAlchemy's `run_sync`).

        Raises:
            StoreUnavailable: the store cannot be written.
            UnknownThread: as `operation` raised it.
        """
        if self.backend == "sqlite":
            return await self._batcher.run_sync(operation)
        async with self.write() as conn:
            return await conn.run_sync(operation)

    async def read_sync(self, operation: Callable[[Connection], T]) -> T:
        """Run the read `operation`, a function of a sync connection, and return its result: on SQLite in one
        worker-thread call (one trip, where the async driver takes several per statement), on PostgreSQL
        through the async connection's `run_sync`.

        Raises:
            StoreUnavailable: the store cannot be read.
        """
        if self.backend != "sqlite":
            async with self.read() as conn:
                return await conn.run_sync(operation)
        return await self._in_thread(operation, read_once)

    async def _in_thread(self, work: Callable[[Connection], T], run: InThreadRunner[T] = in_one_transaction) -> T:
        """SQLite: run `work` in one transaction (`run`: or on a connection without one, for a read), in one
        call to a worker thread (through a sync engine on the same file), not statement by statement through
        the async driver.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        if self._engine is None or self.location is None:
            raise StoreUnavailable(self._shown(), "the store is closed", "open it first")
        if self._sync_engine is None:
            self._sync_engine = sync_sqlite_engine(self.location, busy_timeout_s=self.busy_timeout_s)
        try:
            with anyio.fail_after(self.busy_timeout_s + self.connect_timeout_s):
                return await anyio.to_thread.run_sync(run, self._sync_engine, work)
        except TimeoutError as error:
            raise self._unavailable(TimeoutError("the store did not answer in time")) from error
        except _FAILURES as error:
            raise self._unavailable(error) from error

    async def single_statement(self, operation: Operation[T]) -> T:
        """Run `operation`, a write that is one statement atomic on its own: on PostgreSQL outside any
        transaction (one round trip, no BEGIN or COMMIT), on SQLite as `batched`.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        if self.backend == "sqlite":
            return await self._batcher.run(operation)
        async with self._transaction(autocommit=True) as conn:
            return await operation(conn)

    @contextlib.asynccontextmanager
    async def _transaction(self, *, schema: bool = False, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction (or, `autocommit`, none: each statement commits on its own); any database failure
        in it becomes `StoreUnavailable`."""
        engine = self.engine
        try:
            # A store operation is not cut by the caller's cancellation (it ends within its own time limit):
            # SQLAlchemy invalidates a connection cancelled in the middle of a statement, and its graceful
            # close of an aiosqlite connection then waits forever, so the process would never exit.
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + self.busy_timeout_s + self.connect_timeout_s
                async with engine.connect() as conn:
                    if schema:
                        conn = await conn.execution_options(junior_schema=True)
                    if autocommit:
                        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
                    else:
                        async with conn.begin():
                            yield conn
            if scope.cancelled_caught:
                raise TimeoutError("the store did not answer in time")
        except _FAILURES as error:
            raise self._unavailable(error) from error

    async def _migrate(self) -> tuple[int, ...]:
        """Apply the migrations the database lacks, in order, in one transaction; returns their versions."""
        applied: list[int] = []
        async with self.write(schema=True) as conn:
            if self.backend == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.execute(text(SCHEMA_VERSION_DDL))
            current = await conn.scalar(select(func.coalesce(func.max(schema_version.c.version), 0))) or 0
            if current > LATEST_VERSION:
                raise StoreUnavailable(
                    self._shown(),
                    f"its schema is version {current}, newer than this server knows ({LATEST_VERSION}): a newer "
                    "Junior AI Assistant has used it",
                    f"update this server to the newer version, or point {DATABASE_URL_ENV} at another store",
                )
            for migration in MIGRATIONS:
                if migration.version > current:
                    for statement in migration.sql(self.backend):
                        await conn.execute(text(statement))
                    await conn.execute(
                        insert(schema_version).values(
                            version=migration.version, description=migration.description, applied_at=self.clock()
                        )
                    )
                    applied.append(migration.version)
        return tuple(applied)

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.location.backend if self.location is not None else parse_store_url(self.url).backend

    def _shown(self) -> str:
        return self.location.shown if self.location is not None else self._redactor.redact(self.url)

    def _unavailable(self, error: BaseException) -> StoreUnavailable:
        # The driver's own message: SQLAlchemy's adds the SQL and its parameters (a turn's text, say).
        cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
        message = self._redactor.redact(str(cause) or type(cause).__name__)
        reason, fix = explain(message, cause, self.location or parse_store_url(self.url), self.busy_timeout_s)
        return StoreUnavailable(self._shown(), reason, fix)
