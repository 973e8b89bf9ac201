"""A CLI AI's session in a thread outlives the server, through MCP on SQLite and PostgreSQL: a second server on
the same store (a restart, another worker or replica) resumes it, books only that run's cost, and never resumes
another AI's or another thread's session. The CLI is the script named `claude` (tests/fakes/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from core.config.settings import Settings, load_settings
from serve.main import build_server
from tests.fakes.cli import fake_claude, read_record
from tests.helpers import write_credentials
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio
DEADLINE_S = 60
RUN_COST_USD = 0.0125  # what each run of the script costs; it reports its session's total


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store on SQLite, then on PostgreSQL."""
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.url(server.create_database())
    return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'junior.db'}"


def settings_for(tmp_path: Path, database_url: str, script: Path, *names: str) -> Settings:
    """CLI AIs `names`, each running `script`, with the store at `database_url`."""
    (tmp_path / "project").mkdir(exist_ok=True)
    body: dict[str, Any] = {name: {"kind": "cli", "command": str(script)} for name in names}
    body.update(allowed_roots=[str(tmp_path / "project")], database_url=database_url)
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


def started_session(script: Path) -> str:
    """The session the script's last run started (it names a new one after the length of its stdin)."""
    return "session-" + str(len(read_record(script)["stdin"]))


async def ask(settings: Settings, arguments: dict[str, Any]) -> dict[str, Any]:
    """One ask_ai call on a server of its own (built, called, closed): its structured content."""
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", arguments)
    assert not result.is_error, result.content
    return result.structured_content or {}


async def test_a_thread_resumes_its_cli_session_on_a_new_server_and_books_only_that_runs_cost(
    database_url: str, tmp_path: Path
) -> None:
    script = fake_claude(tmp_path)
    settings = settings_for(tmp_path, database_url, script, "claude")
    with anyio.fail_after(DEADLINE_S):
        first = await ask(settings, {"ai": "claude", "prompt": "first question"})
        session = started_session(script)
        second = await ask(
            settings, {"ai": "claude", "prompt": "second", "continuation_id": first["continuation_id"]}
        )  # on a new server: a restart, another worker
    argv, stdin = read_record(script)["argv"], read_record(script)["stdin"]
    assert "--resume" in argv and argv[argv.index("--resume") + 1] == session, argv
    assert "first question" not in stdin, "the session holds the history: only the new prompt is sent"
    assert first["cost_usd"] == pytest.approx(RUN_COST_USD)
    assert second["cost_usd"] == pytest.approx(RUN_COST_USD), "the session's total less its total before this run"


async def test_a_new_server_resumes_only_this_ais_session_in_this_thread(database_url: str, tmp_path: Path) -> None:
    script = fake_claude(tmp_path)
    settings = settings_for(tmp_path, database_url, script, "claude", "other")
    with anyio.fail_after(DEADLINE_S):
        thread = (await ask(settings, {"ai": "claude", "prompt": "first question"}))["continuation_id"]
        session = started_session(script)
        await ask(settings, {"ai": "other", "prompt": "in the same thread", "continuation_id": thread})
        other_ai = read_record(script)
        await ask(settings, {"ai": "claude", "prompt": "a thread of its own"})
        other_thread = read_record(script)
        await ask(settings, {"ai": "claude", "prompt": "back", "continuation_id": thread})
        resumed = read_record(script)
    assert "--resume" not in other_ai["argv"] and "first question" in other_ai["stdin"], "another AI's is not used"
    assert "--resume" not in other_thread["argv"], "its session in another thread is not used"
    assert "--resume" in resumed["argv"] and resumed["argv"][resumed["argv"].index("--resume") + 1] == session
