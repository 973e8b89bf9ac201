"""The store, the same tests on SQLite (a file in tmp_path) and on a real PostgreSQL server (started for the
session by the `postgres` fixture; skipped, saying why, where there is none): the schema is made once and
versioned, writes from two stores on one database never collide, concurrent appends lose nothing, and a
store that cannot be opened says why and how to fix it."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import anyio
import pytest
from sqlalchemy import Connection, insert, inspect, select

from callers import Junior
from core.config.settings import Settings, load_settings
from core.errors import StoreUnavailable, UnknownThread
from core.store.database import Store
from core.store.schema import LATEST_VERSION, METADATA, MIGRATIONS, schema_version
from core.store.turns import NewTurn
from core.store.url import data_dir, parse_store_url
from tests.postgres import free_port

pytestmark = pytest.mark.anyio
DEADLINE_S = 30


async def test_opening_makes_the_schema_once_and_records_its_version(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store:
            assert store.applied == tuple(m.version for m in MIGRATIONS)
            assert await store.schema_version() == LATEST_VERSION
        async with Store(url) as again:
            assert again.applied == ()
            async with again.engine.connect() as conn:
                versions = (await conn.execute(select(schema_version.c.version))).scalars().all()
    assert versions == [m.version for m in MIGRATIONS]


def test_the_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


async def test_the_tables_the_code_queries_are_those_the_migrations_built(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store, store.engine.connect() as conn:
            built = await conn.run_sync(lambda sync: {t: _columns(sync, t) for t in inspect(sync).get_table_names()})
    assert built == {name: [c.name for c in table.columns] for name, table in METADATA.tables.items()}


def _columns(sync: Connection, table: str) -> list[str]:
    return [column["name"] for column in inspect(sync).get_columns(table)]


async def test_a_schema_newer_than_the_code_is_a_clear_error(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store, store.engine.begin() as conn:
            await conn.execute(insert(schema_version).values(version=LATEST_VERSION + 1, description="x", applied_at=0))
        with pytest.raises(StoreUnavailable, match=rf"version {LATEST_VERSION + 1}, newer than this server knows"):
            await Store(url).open()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    async with Store(f"sqlite:///{tmp_path / 'junior.db'}", busy_timeout_s=4.5) as store:
        async with store.engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert (mode, timeout) == ("wal", 4500)


async def test_concurrent_appends_to_one_thread_get_distinct_consecutive_places(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store:
            thread = await store.threads.create("twenty at once")
            async with anyio.create_task_group() as group:
                for n in range(20):
                    group.start_soon(store.threads.append, thread, [NewTurn("user", f"prompt {n}")])
            turns = await store.threads.turns(thread)
    assert [turn.seq for turn in turns] == list(range(1, 21))
    assert sorted(turn.text for turn in turns) == sorted(f"prompt {n}" for n in range(20))


async def test_two_stores_on_one_database_both_write_without_waiting_for_each_other(url: str) -> None:
    # Two stores, two engines: what two server processes (Claude Desktop's and Claude Code's) would be.
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as first, Store(url) as second:
            thread = await first.threads.create("shared")
            async with anyio.create_task_group() as group:
                for n in range(20):
                    group.start_soon(first.threads.append, thread, [NewTurn("user", f"first {n}")])
                    group.start_soon(second.threads.append, thread, [NewTurn("assistant", f"second {n}", ai="grok")])
                group.start_soon(second.threads.create, "its own")
            turns = await second.threads.turns(thread)
    assert [turn.seq for turn in turns] == list(range(1, 41))
    assert sum(turn.ai == "grok" for turn in turns) == 20


async def test_two_stores_opening_a_new_database_at_once_migrate_it_once(url: str) -> None:
    stores = [Store(url), Store(url)]
    with anyio.fail_after(DEADLINE_S):
        async with anyio.create_task_group() as group:
            for store in stores:
                group.start_soon(store.open)
        applied = sorted(store.applied for store in stores)
        assert await stores[0].schema_version() == LATEST_VERSION
        for store in stores:
            await store.aclose()
    assert applied == [(), tuple(m.version for m in MIGRATIONS)]


async def test_a_turn_survives_closing_and_reopening(url: str) -> None:
    with anyio.fail_after(DEADLINE_S):
        async with Store(url) as store:
            thread = await store.threads.create("lasting")
            await store.threads.append(thread, [NewTurn("user", "remember me")])
            await store.threads.append(thread, [NewTurn("assistant", "I will", ai="gemini", model="gemini-2.5-pro")])
        async with Store(url) as reopened:
            turns = await reopened.threads.turns(thread)
    assert [(t.seq, t.role, t.text, t.ai, t.model) for t in turns] == [
        (1, "user", "remember me", None, None),
        (2, "assistant", "I will", "gemini", "gemini-2.5-pro"),
    ]


async def test_appending_to_an_unknown_thread_is_an_error(url: str) -> None:
    async with Store(url) as store:
        with pytest.raises(UnknownThread, match="no thread 'nope'"):
            await store.threads.append("nope", [NewTurn("user", "hello?")])


async def test_the_models_cache_keeps_the_latest_list(url: str) -> None:
    now = [100.0]
    async with Store(url, clock=lambda: now[0]) as store:
        assert await store.cached_models("grok") is None
        await store.save_models("grok", '["grok-3"]')
        now[0] = 200.0
        await store.save_models("grok", '["grok-4"]')
        cached = await store.cached_models("grok")
    assert cached is not None and (cached.json, cached.fetched_at) == ('["grok-4"]', 200.0)


# -- stores that cannot be opened ---------------------------------------------------------------------


async def test_a_directory_where_the_file_should_be_is_unavailable_with_its_fix(tmp_path: Path) -> None:
    (tmp_path / "junior.db").mkdir()
    with pytest.raises(StoreUnavailable, match=r"junior\.db is a directory, not a file\. Fix: rename or remove"):
        await Store(f"sqlite:///{tmp_path / 'junior.db'}").open()


async def test_a_corrupt_file_is_unavailable_with_its_fix(tmp_path: Path) -> None:
    (tmp_path / "junior.db").write_bytes(b"not a database at all " * 1000)
    with pytest.raises(StoreUnavailable, match=r"is not a SQLite database, or is corrupt .* Fix: move .* aside"):
        await Store(f"sqlite:///{tmp_path / 'junior.db'}").open()


async def test_a_file_locked_too_long_is_unavailable_with_its_fix(tmp_path: Path) -> None:
    path = tmp_path / "junior.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with anyio.fail_after(DEADLINE_S), pytest.raises(StoreUnavailable, match=r"held its lock for over 0\.2 s"):
            await Store(f"sqlite:///{path}", busy_timeout_s=0.2).open()
    finally:
        holder.close()


async def test_an_unreachable_postgresql_is_unavailable_and_its_password_is_never_shown() -> None:
    url = f"postgresql+asyncpg://junior:a-long-secret-password@127.0.0.1:{free_port()}/junior"
    with anyio.fail_after(DEADLINE_S), pytest.raises(StoreUnavailable) as raised:
        await Store(url).open()
    assert "PostgreSQL cannot be reached" in str(raised.value)
    assert "Fix: start it, or fix the host and port in JUNIOR_AI_DATABASE_URL" in str(raised.value)
    assert "a-long-secret-password" not in str(raised.value) and "junior:***@" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mysql://db.example/junior", "not a database URL this server can use"),
        ("junior.db", "not a database URL this server can use"),
        ("sqlite://", "an in-memory database would forget everything"),
        ("sqlite:///:memory:", "an in-memory database would forget everything"),
        ("sqlite:///relative/junior.db", "a relative path"),
        ("postgresql:///junior", "the URL names no host"),
    ],
)
def test_a_bad_url_is_unavailable_saying_what_to_write(url: str, why: str) -> None:
    with pytest.raises(StoreUnavailable, match=f"{why}.*Fix: .*postgresql\\+asyncpg://user:password@host"):
        parse_store_url(url)


@pytest.mark.parametrize(
    ("url", "connect_with", "backend"),
    [
        ("sqlite:////data/j.db", "sqlite+aiosqlite:////data/j.db", "sqlite"),
        ("sqlite+aiosqlite:///~/j.db", f"sqlite+aiosqlite:///{Path.home() / 'j.db'}", "sqlite"),
        ("postgres://u:p@db:5432/j", "postgresql+asyncpg://u:p@db:5432/j", "postgresql"),
        ("postgresql://db/j", "postgresql+asyncpg://db/j", "postgresql"),
        ("postgresql+asyncpg://u:p@db/j", "postgresql+asyncpg://u:p@db/j", "postgresql"),
    ],
)
def test_a_url_is_spoken_with_the_async_driver(url: str, connect_with: str, backend: str) -> None:
    location = parse_store_url(url)
    assert (location.url, location.backend) == (connect_with, backend)
    assert "u:p@" not in location.shown


# -- the application's store ---------------------------------------------------------------------------


async def test_the_application_opens_its_store_once_on_first_use_and_closes_it(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "app" / "junior.db"
    app = Junior.build(settings.model_copy(update={"database_url": f"sqlite:///{path}"}))
    assert not path.exists()  # building the application opens nothing
    with anyio.fail_after(DEADLINE_S):
        async with app:
            opened: list[Store] = []
            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(lambda: _append(opened, app))
            assert len({id(store) for store in opened}) == 1 and path.exists()
    with pytest.raises(StoreUnavailable, match="it is not open"):
        opened[0].engine  # noqa: B018


async def _append(opened: list[Store], app: Junior) -> None:
    opened.append(await app.store())


async def test_the_default_store_is_a_file_in_the_private_data_directory(settings: Settings) -> None:
    async with Junior.build(settings) as app:
        store = await app.store()
        assert store.location is not None and store.location.path == data_dir() / "junior.db"
    assert stat.S_IMODE(os.stat(data_dir()).st_mode) == 0o700
    assert data_dir().is_relative_to(os.environ["XDG_DATA_HOME"])  # a test's own, never the user's


async def test_an_application_whose_store_cannot_open_says_why_and_tries_again_later(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "junior.db"
    path.mkdir()
    async with Junior.build(settings.model_copy(update={"database_url": f"sqlite:///{path}"})) as app:
        with pytest.raises(StoreUnavailable, match="is a directory"):
            await app.store()
        path.rmdir()
        assert await (await app.store()).schema_version() == LATEST_VERSION


def test_the_database_url_comes_from_the_environment_or_the_file_and_its_password_is_a_secret(
    tmp_path: Path,
) -> None:
    file = tmp_path / "credentials.json"
    file.write_text('{"database_url": "postgresql://me:file-password-0123456789@db/j"}')
    os.chmod(file, 0o600)
    from_file = load_settings(file, env={})
    from_env = load_settings(file, env={"JUNIOR_AI_DATABASE_URL": "postgresql://me:env-password-0123456789@db/j"})
    assert from_file.database_url == "postgresql://me:file-password-0123456789@db/j"
    assert "file-password-0123456789" in from_file.secrets
    assert from_env.secrets == ["env-password-0123456789"]
