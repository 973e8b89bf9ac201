"""`GET /dashboard` and `/dashboard.json` (serve/http/dashboard.py) over real HTTP (uvicorn on loopback, in
process), on SQLite and PostgreSQL: two callers make real calls; the admin sees everyone's spend, the other
caller their own and nobody else's; no token or a wrong one is 401 like /mcp; the page's headers forbid the
network and caching; without tokens, loopback's one user sees everything; `http.admins` must name callers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from core.config.http import token_hash
from core.config.settings import Settings, settings_or_problems
from serve.http.app import MCP_PATH
from serve.http.dashboard import PAGE_HEADERS
from tests.fakes import FakeProvider
from tests.helpers import credentials_for, write_credentials
from tests.postgres import PostgresServer
from tests.serve.test_http import ACCEPT, CANARY, LIST
from tests.serve.test_rate_limit import BOB, serving
from tools.spend_history import SPEND_HISTORY_META

pytestmark = pytest.mark.anyio
DEADLINE_S = 90
TOKENS = {"alice": token_hash(CANARY), "bob": token_hash(BOB)}
EMBEDDED = re.compile(r'<script type="application/json" id="junior-data">(.*?)</script>', re.S)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """The store's setting: the default SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    server: PostgresServer = request.getfixturevalue("postgres")
    return {"database_url": server.url(server.create_database())}


def settings_for(fake: FakeProvider, tmp_path: Path, http: dict[str, Any], store: dict[str, str]) -> Settings:
    body = {**credentials_for(fake, ("grok", "ollama")), "http": http, **store}
    settings = settings_or_problems(
        write_credentials(tmp_path / "credentials.json", body), {"XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    )
    assert not settings.problems, settings.problems
    return settings


async def ask_and_status(url: str, token: str, ai: str) -> dict[str, Any]:
    """One call to `ai` as the token's caller, then server_status's structured content (a client without Apps)."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{url}{MCP_PATH}", http_client=http)) as client,
    ):
        answer = await client.call_tool("ask_ai", {"ai": ai, "prompt": "spend some"})
        assert not answer.is_error, answer
        status = await client.call_tool("server_status", {})
    return status.structured_content or {}


def embedded(page: str) -> dict[str, Any]:
    [found] = EMBEDDED.findall(page)
    assert "<" not in found
    data: dict[str, Any] = json.loads(found)
    return data


async def test_the_admin_sees_everyones_spend_and_another_caller_only_their_own(
    fake: FakeProvider, tmp_path: Path, store: dict[str, str]
) -> None:
    fake.behave("grok", usage=(10, 20, 0, 0))
    settings = settings_for(fake, tmp_path, {"tokens": TOKENS, "admins": ["alice"]}, store)
    with anyio.fail_after(DEADLINE_S):
        async with serving(settings) as (url, _, _), httpx2.AsyncClient(timeout=30) as http:
            await ask_and_status(url, BOB, "grok")
            alice_status = await ask_and_status(url, CANARY, "ollama")
            pages = {
                who: {
                    path: await http.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"})
                    for path in ("/dashboard", "/dashboard.json")
                }
                for who, token in (("alice", CANARY), ("bob", BOB))
            }
            bob_status = await ask_and_status(url, BOB, "grok")  # everyone's, as server_status always shows
    for responses in pages.values():
        for path, response in responses.items():
            assert response.status_code == 200, response.text
            assert {name: response.headers[name] for name in PAGE_HEADERS} == dict(PAGE_HEADERS)
            assert response.headers["content-type"].startswith(
                "text/html" if path == "/dashboard" else "application/json"
            )
            assert CANARY not in response.text and BOB not in response.text
    alice, bob = (embedded(pages[who]["/dashboard"].text) for who in ("alice", "bob"))
    assert alice == pages["alice"]["/dashboard.json"].json() and bob == pages["bob"]["/dashboard.json"].json()

    assert alice["structuredContent"] == alice_status  # the admin: exactly server_status's
    history = alice["_meta"][SPEND_HISTORY_META]
    assert {(line["ai"], line["calls"]) for line in history["daily"]} == {("grok", 1), ("ollama", 1)}
    assert {line["caller"] for line in history["callers_daily"]} == {"alice", "bob"}

    # bob: the same status, his own spend alone, and nobody else named anywhere in what he is sent
    assert "alice" not in pages["bob"]["/dashboard"].text and "alice" not in pages["bob"]["/dashboard.json"].text
    shown = {key: value for key, value in bob["structuredContent"].items() if key != "spend"}
    assert shown == {key: value for key, value in alice_status.items() if key != "spend"}
    spend = bob["structuredContent"]["spend"]
    assert [(line["ai"], line["calls"]) for line in spend["today"]] == [("grok", 1)]
    assert [(line["caller"], line["calls"]) for line in spend["callers_today"]] == [("bob", 1)]
    assert spend["caps"] == alice_status["spend"]["caps"]
    history = bob["_meta"][SPEND_HISTORY_META]
    assert [(line["ai"], line["calls"]) for line in history["daily"]] == [("grok", 1)]
    assert [(line["caller"], line["calls"]) for line in history["callers_daily"]] == [("bob", 1)]
    assert {line["caller"] for line in bob_status["spend"]["callers_today"]} == {"alice", "bob"}


async def test_no_token_or_a_wrong_one_is_refused_as_at_mcp_and_a_bad_host_too(
    fake: FakeProvider, tmp_path: Path
) -> None:
    settings = settings_for(fake, tmp_path, {"tokens": TOKENS, "admins": ["alice"]}, {})
    with anyio.fail_after(DEADLINE_S):
        async with serving(settings) as (url, _, _), httpx2.AsyncClient(timeout=30) as http:
            answers = {}
            for name, headers in (("none", {}), ("wrong", {"Authorization": "Bearer not-a-token-0123456789"})):
                mcp = await http.post(f"{url}{MCP_PATH}", json=LIST, headers={**ACCEPT, **headers})
                answers[name] = [mcp] + [
                    await http.get(f"{url}{path}", headers=headers) for path in ("/dashboard", "/dashboard.json")
                ]
            host = await http.get(
                f"{url}/dashboard", headers={"Authorization": f"Bearer {BOB}", "Host": "evil.example"}
            )
            posted = await http.post(f"{url}/dashboard", headers={"Authorization": f"Bearer {BOB}"})
    for mcp, *dashboards in answers.values():
        assert mcp.status_code == 401
        for response in dashboards:
            assert response.status_code == 401, response.text
            assert response.headers["WWW-Authenticate"] == mcp.headers["WWW-Authenticate"]
            assert response.json() == mcp.json()
    assert host.status_code == 421
    assert posted.status_code == 405


async def test_without_tokens_the_one_user_on_loopback_sees_every_caller(fake: FakeProvider, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path, {}, {})
    with anyio.fail_after(DEADLINE_S):
        async with serving(settings) as (url, junior, _), httpx2.AsyncClient(timeout=30) as http:
            ledger = (await junior.store()).ledger
            for caller in ("alice", "bob", None):
                await ledger.record(ai="grok", model="m", tool="ask_ai", thread_id=None, caller=caller, cost_usd=0.5)
            response = await http.get(f"{url}/dashboard.json")
            assert response.status_code == 200, (response.status_code, response.text)
            data = response.json()
    history = data["_meta"][SPEND_HISTORY_META]
    assert [line["caller"] for line in history["callers_daily"]] == [None, "alice", "bob"]
    assert [(line["ai"], line["calls"], line["cost_usd"]) for line in history["daily"]] == [("grok", 3, 1.5)]
    assert {line["caller"] for line in data["structuredContent"]["spend"]["callers_today"]} == {None, "alice", "bob"}


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        (
            {"tokens": TOKENS, "admins": ["alice", "carol"]},
            "http: Value error, admins: 'carol' named no token's caller",
        ),
        ({"admins": ["alice"]}, "an admin is the name of a caller in http.tokens (valid: none configured)"),
        ({"tokens": TOKENS, "admins": ["root"]}, "(valid: alice, bob)"),
    ],
)
def test_admins_must_name_callers_with_tokens(tmp_path: Path, http: dict[str, Any], problem: str) -> None:
    settings = settings_or_problems(write_credentials(tmp_path / "c.json", {"http": http}), env={})
    [found] = settings.problems
    assert problem in found
