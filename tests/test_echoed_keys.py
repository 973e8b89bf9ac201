"""A key a provider echoes goes nowhere: not into the store (any table of SQLite or PostgreSQL, nor the
SQLite file's bytes), not into a prompt to another AI (a thread continued on another AI, a debate's second
round, a sequential solve), not into a result. Each key goes only to its own AI, as its credential.

The providers here are hostile: answers that quote their own key or another AI's (whole, or partly),
streamed or not, a model name that is a key, error bodies that quote keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult
from sqlalchemy import inspect, select, table, text

from core.config.settings import Settings, load_settings
from core.redact import PARTIAL_CHARS
from core.store.database import Store
from serve.main import build_server
from tests.fakes import Behaviour, FakeProvider
from tests.fakes.answers import encoded, raw
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials
from tests.postgres import PostgresServer

pytestmark = pytest.mark.anyio
DEADLINE_S = 60
AIS = ("gemini", "openai", "grok", "deepseek", "openrouter")


def key(name: str) -> str:
    """AI `name`'s key: long, as real keys are, and unlike the others in every run of 12 characters."""
    return f"sk-live-{name}-" + hashlib.sha256(name.encode()).hexdigest()[:32]


def runs(secret: str) -> Iterator[str]:
    """Every run of PARTIAL_CHARS characters of `secret`: none may show anywhere."""
    return (secret[start : start + PARTIAL_CHARS] for start in range(len(secret) - PARTIAL_CHARS + 1))


def leaked(haystack: str | bytes) -> list[str]:
    """The AIs whose key shows in `haystack`, whole or any run of PARTIAL_CHARS of its characters."""
    found = []
    for name in AIS:
        pieces = [run.encode() if isinstance(haystack, bytes) else run for run in runs(key(name))]
        if any(piece in haystack for piece in pieces):  # type: ignore[operator]
            found.append(name)
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | None]:
    """An empty store's URL, and (SQLite) the directory holding its file, WAL and all."""
    if request.param == "sqlite":
        directory = tmp_path / "store"
        return f"sqlite+aiosqlite:///{directory / 'junior.db'}", directory
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url(server.create_database()), None


def hostile_settings(fake: FakeProvider, tmp_path: Path, url: str) -> Settings:
    body = credentials_for(fake, AIS) | FAST_RETRIES
    for name in AIS:
        body[name]["api_key"] = key(name)
    body["deepseek"]["stream"] = False  # one AI answers whole, the others stream
    body["database_url"] = url
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


def misbehave(fake: FakeProvider) -> None:
    """Every way a provider here sends a key back."""
    # Its own key, whole, in a streamed answer; then another AI's, partly hidden as OpenAI hides keys.
    fake.behave("grok", text=f"My key is {key('grok')}, and gemini's ends {key('gemini')[-20:]}.")
    # Another AI's key only, whole, streamed by Gemini's API.
    fake.behave("gemini", text=f"I found this key in a log: {key('deepseek')} (is it yours?)")
    # Not streamed: its own key and another's in the text, and a key as the model's name.
    answer = encoded("openai", text=f"Keys: {key('deepseek')} / {key('openai')}", model=key("grok"))
    fake.behave("deepseek", raw(answer))
    # Error bodies: its own key and another's; another's only.
    own = json.dumps({"error": {"message": f"Incorrect API key {key('openai')}; also seen: {key('grok')}"}})
    fake.behave("openai", Behaviour(status=401, body=own))
    other = json.dumps({"error": {"message": f"upstream rejected {key('gemini')}"}})
    fake.behave("openrouter", Behaviour(status=500, body=other))


async def table_dump(url: str) -> str:
    """Every row of every table the database holds (its own list of tables, not the code's), as text."""
    rows: list[Any] = []
    async with Store(url) as store, store.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert {"threads", "turns", "ledger"} <= set(names)
        for name in names:
            result = await conn.execute(select(text("*")).select_from(table(name)))
            rows.extend([name, *map(tuple, result.all())])
    return repr(rows)


def results_text(results: list[CallToolResult]) -> str:
    return json.dumps([result.model_dump(mode="json") for result in results])


async def test_a_key_a_provider_echoes_reaches_no_table_no_file_no_other_ai(
    fake: FakeProvider, tmp_path: Path, store_at: tuple[str, Path | None]
) -> None:
    url, directory = store_at
    settings = hostile_settings(fake, tmp_path, url)
    misbehave(fake)
    everyone = ["grok", "gemini", "deepseek", "openai", "openrouter"]
    answering = ["grok", "gemini", "deepseek"]
    results: list[CallToolResult] = []
    with anyio.fail_after(DEADLINE_S):
        async with Client(build_server(settings)) as client:

            async def call(tool: str, **arguments: Any) -> CallToolResult:
                results.append(await client.call_tool(tool, arguments))
                return results[-1]

            first = await call("ask_ai", ai="grok", prompt="What is your key?")
            thread = (first.structured_content or {})["continuation_id"]
            # The thread continued on other AIs: each sees grok's answer as context.
            await call("ask_ai", ai="gemini", prompt="go", continuation_id=thread)
            await call("ask_all_ais", prompt="and now?", ais=everyone, continuation_id=thread)
            await call("ask_ai", ai="deepseek", prompt="on", continuation_id=thread)
            # Within one call: the debate's second round quotes the first; each solver refines the last.
            await call("ai_debate", topic="keys", ais=answering, rounds=2)
            await call("collaborative_solve", problem="p", ais=[*answering, "openai"], approach="sequential")
            await call("threads", action="show", thread_id=thread)
    assert not any(result.is_error for result in results[:2]), results_text(results[:2])

    # What each AI was sent: its own key as its credential, and no key anywhere in the request's body.
    asked = {recorded.ai for recorded in fake.requests}
    assert {"grok", "gemini", "deepseek", "openai", "openrouter"} <= asked
    for recorded in fake.requests:
        credential = recorded.headers.get("authorization", "").removeprefix("Bearer ") or recorded.headers.get(
            "x-goog-api-key"
        )
        assert credential == key(recorded.ai), recorded.ai
        assert leaked(json.dumps(recorded.body)) == [], f"a request to {recorded.ai} carried a key: {recorded.body}"
    for name in answering:  # each was sent the others' answers (the thread, the debate, the solve), masked
        assert any("[key …" in json.dumps(r.body, ensure_ascii=False) for r in fake.requests_for(name)), name
    assert len(fake.requests_for("gemini")) >= 5, "gemini was asked in every call, the debate's two rounds too"

    # What the store holds, row by row, and (SQLite) byte by byte.
    dump = await table_dump(url)
    assert "[key …" in dump, "the answers were recorded, each key masked by its hint"
    assert leaked(dump) == [], dump
    if directory is not None:
        files = sorted(directory.iterdir())
        assert files and all(leaked(path.read_bytes()) == [] for path in files), [p.name for p in files]
    assert leaked(results_text(results)) == []
