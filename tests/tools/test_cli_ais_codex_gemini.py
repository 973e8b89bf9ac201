"""Codex CLI and Gemini CLI as AIs through MCP (the SDK's in-memory client and the real server), each the real
CLI (tests/cli_agents.py: pinned, installed from npm, a HOME of its own) pointed at the loopback stand-in of its
provider through its documented custom endpoint: Codex a model provider of its config (`-c` in the block's
`args`), Gemini CLI `GOOGLE_GEMINI_BASE_URL` (in the block's `env`).

An answer in ask_ai from each, a fan-out of Codex beside two HTTP AIs, a council where Codex reviews and chairs;
each reports tokens and no cost, so the result and the ledger say tokens and an unknown cost, never $0.
server_status and --check show each one's version and sign-in (`codex login status`; Gemini CLI has no such
command: unknown). The real runs take seconds each: the tests are few.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from sqlalchemy import select

from core.config.settings import Settings, load_settings
from core.store.database import Store
from core.store.schema import ledger
from serve.check import run_check
from serve.main import build_server
from tests.cli_agents import (
    CODEX_VERSION,
    GEMINI_VERSION,
    AgentHome,
    codex_cli,
    codex_endpoint,
    codex_env,
    gemini_cli,
    gemini_env,
)
from tests.fakes import FakeProvider, gemini_agent, responses_api
from tests.fakes.gemini_agent import GeminiModel
from tests.fakes.responses_api import ResponsesModel
from tests.fakes.scripted import Script
from tests.helpers import credentials_for, write_credentials

pytestmark = pytest.mark.anyio

CALL_S = 240  # a few real CLI runs on a loaded machine
TOKENS = (21, 8)  # what the stand-ins' scripts report per run (Script's defaults)
# The CLI's one answer: its answer as a member, its ranking as a reviewer (of the two others), its synthesis.
ANSWER = "Use SQLite.\n\nFINAL RANKING:\n1. Response B\n2. Response A"


def settings_with(tmp_path: Path, fake: FakeProvider | None, **blocks: dict[str, Any]) -> Settings:
    http = credentials_for(fake, ("grok", "ollama")) if fake is not None else {}
    body = {
        **http,
        **blocks,
        "allowed_roots": [str(tmp_path / "project")],  # the agents' project (AgentHome.make)
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
    }
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


def codex_block(agent: AgentHome, model: ResponsesModel) -> dict[str, Any]:
    env = codex_env(agent, responses_api.KEY)
    return {"kind": "cli", "command": str(codex_cli()), "model": "gpt-fake", "args": codex_endpoint(model), "env": env}


def gemini_block(agent: AgentHome, model: GeminiModel) -> dict[str, Any]:
    agent.gemini_signed_in()
    env = gemini_env(agent, model, gemini_agent.KEY)
    return {"kind": "cli", "command": str(gemini_cli()), "model": "gemini-2.5-flash", "env": env}


async def ledger_rows(settings: Settings, ai: str) -> list[tuple[Any, ...]]:
    columns = (ledger.c.input_tokens, ledger.c.output_tokens, ledger.c.cost_usd, ledger.c.outcome)
    assert settings.database_url is not None
    async with Store(settings.database_url) as store, store.read() as conn:
        return [tuple(row) for row in await conn.execute(select(*columns).where(ledger.c.ai == ai))]


@pytest.mark.parametrize("cli", ["codex", "gemini"])
async def test_codex_and_gemini_cli_answer_ask_ai_with_tokens_and_an_unknown_cost(tmp_path: Path, cli: str) -> None:
    agent = AgentHome.make(tmp_path)
    stand_in = ResponsesModel if cli == "codex" else GeminiModel
    with stand_in(script=Script(answer="Use SQLite.")) as model:
        block = codex_block(agent, model) if cli == "codex" else gemini_block(agent, model)  # type: ignore[arg-type]
        settings = settings_with(tmp_path, None, agent=block)
        async with Client(build_server(settings)) as client:  # leaving it waits for the ledger rows
            with anyio.fail_after(CALL_S):
                result = await client.call_tool("ask_ai", {"ai": "agent", "prompt": "Which database?"})
    text, structured = result.content[0].text, result.structured_content or {}  # type: ignore[union-attr]
    assert not result.is_error and text.startswith("Use SQLite."), text
    assert (structured["input_tokens"], structured["output_tokens"]) == TOKENS, structured
    assert structured["cost_usd"] is None and structured["total_cost_usd"] is None, "unknown, never $0"
    assert "$0.00" not in text
    assert await ledger_rows(settings, "agent") == [(*TOKENS, None, "ok")]


async def test_a_fan_out_of_codex_and_two_http_ais(fake: FakeProvider, tmp_path: Path) -> None:
    agent = AgentHome.make(tmp_path)
    with ResponsesModel(script=Script(answer="Use SQLite.")) as model:
        settings = settings_with(tmp_path, fake, codex=codex_block(agent, model))
        async with Client(build_server(settings)) as client:
            with anyio.fail_after(CALL_S):
                result = await client.call_tool(
                    "ask_all_ais", {"prompt": "Which database?", "ais": ["codex", "grok", "ollama"]}
                )
    results = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert set(results) == {"codex", "grok", "ollama"} and all(r["ok"] for r in results.values()), results
    codex = results["codex"]
    assert (codex["text"], codex["input_tokens"], codex["output_tokens"], codex["cost_usd"]) == (
        "Use SQLite.",
        *TOKENS,
        None,
    )
    assert len(fake.requests_for("grok")) == 1 and len(fake.requests_for("ollama")) == 1
    assert await ledger_rows(settings, "codex") == [(*TOKENS, None, "ok")]


async def test_a_council_where_codex_reviews_and_chairs(fake: FakeProvider, tmp_path: Path) -> None:
    agent = AgentHome.make(tmp_path)
    arguments = {"question": "Which database?", "ais": ["codex", "grok", "ollama"], "method": "council"}
    with ResponsesModel(script=Script(answer=ANSWER)) as model:
        settings = settings_with(tmp_path, fake, codex=codex_block(agent, model))
        async with Client(build_server(settings)) as client:
            with anyio.fail_after(CALL_S * 2):
                result = await client.call_tool("ai_consensus", {**arguments, "chairman": "codex"})
    council = result.structured_content or {}
    assert not result.is_error and council["chairman"] == "codex", council
    assert "Use SQLite." in council["synthesis"]["text"], council["synthesis"]
    ranked = next(r for r in council["rankings"] if r["reviewer"] == "codex")
    assert ranked["parsed"] and len(ranked["ranked"]) == 2, "its ranking was read"
    rows = await ledger_rows(settings, "codex")
    assert rows == [(*TOKENS, None, "ok")] * 3, "member, reviewer, chairman: tokens each, cost unknown"


async def test_server_status_and_check_show_codex_and_gemini_cli_with_version_and_sign_in(
    tmp_path: Path,
) -> None:
    signed_in, signed_out = AgentHome.make(tmp_path / "in"), AgentHome.make(tmp_path / "out")
    (tmp_path / "project").mkdir()  # where they run (allowed_roots)
    codex = str(codex_cli())
    with anyio.fail_after(CALL_S):  # `codex login --with-api-key` reads the key from stdin into this HOME
        login = await anyio.run_process(
            [codex, "login", "--with-api-key"], input=b"sk-made-up", env=codex_env(signed_in, None), check=False
        )
    assert login.returncode == 0, login.stderr
    with ResponsesModel(script=Script(answer="OK.")) as model, GeminiModel(script=Script(answer="OK.")) as gemini:
        blocks = {
            "codex": codex_block(signed_in, model),
            "codex_out": codex_block(signed_out, model),
            "gemini": gemini_block(signed_in, gemini),
        }
        settings = settings_with(tmp_path, None, **blocks)
        async with Client(build_server(settings)) as client:
            with anyio.fail_after(CALL_S):
                result = await client.call_tool("server_status", {})
        out = io.StringIO()
        with anyio.fail_after(CALL_S):
            await run_check(settings, out)
    text, structured = result.content[0].text, result.structured_content or {}  # type: ignore[union-attr]
    gemini_path = str(gemini_cli())
    lines = [
        f"codex: codex CLI at {codex}, version {CODEX_VERSION}, signed in: yes; at most 2 at a time",
        f"codex_out: codex CLI at {codex}, version {CODEX_VERSION}, signed in: no; at most 2 at a time",
        f"gemini: gemini_cli CLI at {gemini_path}, version {GEMINI_VERSION}, signed in: unknown; at most 2 at a time",
    ]
    for line in lines:
        assert f"  {line}" in text, text
        assert line in out.getvalue(), out.getvalue()
    clis = {ai["name"]: ai["cli"] for ai in structured["ais"]}
    assert [(clis[n]["version"], clis[n]["signed_in"]) for n in ("codex", "codex_out", "gemini")] == [
        (CODEX_VERSION, True),
        (CODEX_VERSION, False),
        (GEMINI_VERSION, None),
    ]


async def test_a_codex_thread_resumes_its_session_and_books_each_runs_tokens(tmp_path: Path) -> None:
    agent = AgentHome.make(tmp_path)
    with ResponsesModel(script=Script(answer="Noted, Zed.")) as model:
        settings = settings_with(tmp_path, None, codex=codex_block(agent, model))
        async with Client(build_server(settings)) as client:
            with anyio.fail_after(CALL_S):
                first = await client.call_tool("ask_ai", {"ai": "codex", "prompt": "My name is Zed."})
                thread = (first.structured_content or {})["continuation_id"]
                second = await client.call_tool(
                    "ask_ai", {"ai": "codex", "prompt": "What is my name?", "continuation_id": thread}
                )
    assert not second.is_error, second.content
    resumed = model.turns()[-1]
    earlier, latest = responses_api.input_texts(resumed, "user")[-2:]
    assert earlier.endswith("My name is Zed.") and latest.endswith("What is my name?"), "one session, resumed"
    assert "Zed" not in latest, "the session holds the history: only the new question is sent"
    structured = second.structured_content or {}
    assert (structured["input_tokens"], structured["output_tokens"]) == TOKENS, "this run's, not the session's 42/16"
    assert await ledger_rows(settings, "codex") == [(*TOKENS, None, "ok")] * 2
