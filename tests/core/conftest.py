"""The store's tests run on both backends: `url` is an empty store on SQLite, then on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's URL: a new SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'junior.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url(server.create_database())
