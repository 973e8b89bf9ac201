"""Shared fixtures: the loopback fake provider and configurations that point every AI at it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from callers import Junior, seed
from core.config import Settings, load_settings
from server import build_server
from tests.fakes import FakeProvider

ALL_AIS = ("gemini", "openai", "grok", "deepseek", "openrouter", "ollama")
KEY_ENV = {
    "gemini": "GEMINI_API_KEY",
    "openai": "OPENAI_API_KEY",
    "grok": "XAI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_of(name: str) -> str:
    return "gemini" if name == "gemini" else "openai"


def key_for(name: str) -> str:
    return f"test-key-for-{name}-0123456789"


def credentials_for(fake: FakeProvider, names: tuple[str, ...] = ALL_AIS, **per_ai: Any) -> dict[str, Any]:
    """A credentials.json body pointing each AI at the fake (ollama as a custom AI, keyless)."""
    blocks: dict[str, Any] = {}
    for name in names:
        block: dict[str, Any] = {"base_url": fake.base_url(name, api_of(name)), "timeout": 5}
        if name == "ollama":
            block["model"] = "llama3.2"
        else:
            block["api_key"] = key_for(name)
        block.update(per_ai.get(name, {}))
        blocks[name] = block
    return blocks


def env_for(fake: FakeProvider, names: tuple[str, ...] = ALL_AIS) -> dict[str, str]:
    """The same configuration as environment variables only."""
    env: dict[str, str] = {}
    for name in names:
        prefix = name.upper()
        env[f"{prefix}_BASE_URL"] = fake.base_url(name, api_of(name))
        if name in KEY_ENV:
            env[KEY_ENV[name]] = key_for(name)
        else:
            env["JUNIOR_AI_CUSTOM_AIS"] = name
            env[f"{prefix}_MODEL"] = "llama3.2"
    return env


def write_credentials(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(json.dumps(body, indent=2))
    path.chmod(0o600)  # as the README asks; a test of the permission warning loosens it itself
    return path


# Retry delays are made short through configuration, never patched out.
FAST_RETRIES = {"retry_base_s": 0.01, "retry_max_s": 0.05}


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


class Clock:
    """The monotonic clock, plus however far a test has moved it on: a breaker's cooldown passes at
    once, without a test waiting for it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Served:
    """A server for `settings` whose applications (one per connection) the test can see, on its clock."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.apps: list[Junior] = []
        self.server = build_server(settings, build_app=self._build)

    def _build(self, settings: Settings) -> Junior:
        self.apps.append(Junior.build(settings, clock=self.clock))
        return self.apps[-1]

    @property
    def app(self) -> Junior:
        """The application of the current (last) connection."""
        return self.apps[-1]
