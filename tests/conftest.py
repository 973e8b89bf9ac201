"""Shared fixtures: the loopback fake provider, settings that point every AI at it, applications.
Helpers that are not fixtures live in tests/helpers.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from callers import Junior, seed
from core.config.settings import Settings, load_settings
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, require, write_credentials
from tests.postgres import NO_POSTGRES, PostgresServer, binaries, running_postgres


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _data_dir_of_its_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test writes to the user's data directory (the default store): each has its own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (initdb + pg_ctl on loopback); skips when there is none
    (in CI: fails, `tests.helpers.missing`)."""
    bin_dir = require("PostgreSQL", binaries(), NO_POSTGRES)
    started = time.monotonic()
    with running_postgres(bin_dir) as server:
        print(f"PostgreSQL from {bin_dir} on port {server.port}: started in {time.monotonic() - started:.2f} s")
        yield server


@pytest.fixture(scope="session")
def _provider() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def fake(_provider: FakeProvider) -> Iterator[FakeProvider]:
    """The fake provider, with fresh behaviours and an empty request log for each test."""
    _provider.reset()
    yield _provider
    _provider.reset()


@pytest.fixture
def settings(fake: FakeProvider, tmp_path: Path) -> Settings:
    """Settings for all six AIs, read through the real loader from a credentials.json."""
    body = credentials_for(fake) | FAST_RETRIES
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


@pytest.fixture
async def registry(settings: Settings) -> AsyncIterator[Junior]:
    """The seed's default application, built from `settings` through the seed's API, closed afterwards."""
    await seed.initialize_all_clients_async(settings)
    yield seed.default_app()
    await seed.cleanup_async_ai_clients()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Junior]:
    """An application of the test's own for `settings`, closed afterwards."""
    async with Junior.build(settings) as app:
        yield app
