"""A real client: Claude Code's CLI (npm @anthropic-ai/claude-code) connects to the server the way the README
says to add it, `claude mcp add junior-ai -- python3 /path/to/run.py serve`, in a temporary HOME.

Two releases. 2.1.197, the last on Node 18/20, still does the `initialize` handshake: `claude mcp list`
must report the server connected, and the init line of `claude -p` must list our tools. Nothing leaves the
machine: there is no Anthropic key, `ANTHROPIC_BASE_URL` points at a closed loopback port, and the CLI's
updater and non-essential traffic are off; the prompt itself fails ("Not logged in"), after the init line.

The newest release (tests/claude_code.py: Node 22 from npm, the stateless 2026-07-28 protocol) runs whole
turns against a scripted stand-in for the Messages API (tests/fakes/messages_api.py): its init line lists
the prompts as slash commands, and a slash command's message has the model call the tool it names, which
reaches the fake provider. `.ci/run` installs both CLIs; without node and npm the tests are skipped, saying
why (in CI they fail).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.config.credentials import PROJECT_ROOT
from tests.claude_code import NEWEST_VERSION, SERVER, ClaudeCodeProject, newest_claude, serve_command
from tests.fakes import FakeProvider
from tests.fakes.messages_api import FINAL_TEXT, Conversation, ScriptedModel, ToolUse
from tests.helpers import COMPACT_TOOLS, closed_port, credentials_for, npm_client, write_credentials
from tools.prompts import PROMPTS

# The last release that runs on Node 18/20 (later ones want Node 22); newer ones ship the same native binary.
CLAUDE_CODE_VERSION = "2.1.197"
PREFIX = PROJECT_ROOT / ".claude-code"


@pytest.fixture(scope="module")
def claude() -> Path:
    return npm_client(f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}", PREFIX, "claude", "Claude Code CLI")


def claude_env(home: Path) -> dict[str, str]:
    """A clean environment: a fresh HOME, no Anthropic key, the API on a closed port, no updater or telemetry."""
    return {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{closed_port()}",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # `claude -p` connects MCP servers in the background by default, so its init line may say "pending";
        # 0 makes it wait for them first, as an interactive session's first turn does.
        "MCP_CONNECTION_NONBLOCKING": "0",
    }


def run_claude(claude: Path, project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(claude), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_claude_code_connects_to_the_readme_command_and_sees_the_tools(claude: Path, tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    credentials = write_credentials(
        tmp_path / "credentials.json",
        {"grok": {"api_key": "xai-not-a-real-key", "base_url": f"http://127.0.0.1:{closed_port()}/v1"}},
    )
    # What the README says to do once by hand first, so no install runs while the client waits.
    warm = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "run.py"), "serve", "--help"], capture_output=True, text=True, timeout=600
    )
    assert warm.returncode == 0, warm.stderr
    env = claude_env(home)

    serve = [sys.executable, str(PROJECT_ROOT / "run.py"), "serve", "--credentials", str(credentials)]
    added = run_claude(claude, project, env, "mcp", "add", "junior-ai", "--", *serve)
    assert added.returncode == 0, added.stdout + added.stderr

    listed = run_claude(claude, project, env, "mcp", "list")
    line = next((line for line in listed.stdout.splitlines() if line.startswith("junior-ai:")), "")
    assert line.endswith("Connected"), listed.stdout + listed.stderr  # the exit code is 0 either way

    asked = run_claude(claude, project, env, "-p", "x", "--output-format", "stream-json", "--verbose")
    messages = [json.loads(text) for text in asked.stdout.splitlines() if text.startswith("{")]
    init: dict[str, Any] = next((m for m in messages if (m.get("type"), m.get("subtype")) == ("system", "init")), {})
    assert init, asked.stdout + asked.stderr
    assert init["mcp_servers"] == [{"name": "junior-ai", "status": "connected"}]
    assert {
        name.removeprefix("mcp__junior-ai__") for name in init["tools"] if name.startswith("mcp__")
    } == COMPACT_TOOLS
    assert init["apiKeySource"] == "none"  # no key reached the CLI, so no prompt left the machine


@pytest.fixture(scope="module")
def newest() -> Path:
    return newest_claude()


def project_with_the_server(claude: Path, fake: FakeProvider, root: Path) -> ClaudeCodeProject:
    """A scratch project in which `claude mcp add` has added the server, its AIs on the fake provider."""
    credentials = write_credentials(root / "credentials.json", credentials_for(fake, ("grok", "openai")))
    project = ClaudeCodeProject.make(claude, root)
    project.add_server(serve_command(credentials))
    return project


def test_the_newest_claude_code_offers_the_prompts_as_slash_commands_and_one_has_the_model_call_its_tool(
    newest: Path, fake: FakeProvider, tmp_path: Path
) -> None:
    project = project_with_the_server(newest, fake, tmp_path)
    asked: list[str] = []

    def as_the_message_says(conversation: Conversation) -> ToolUse:
        """A model that does what the slash command's message asks: ask_ai with the AI it names."""
        asked.append(conversation.user_text)
        named = re.search(r'`ask_ai` with ai="([^"]+)"', conversation.user_text)
        return ToolUse("ask_ai", {"ai": named.group(1) if named else "openai", "prompt": "Is 0.1 + 0.2 == 0.3?"})

    with ScriptedModel([as_the_message_says]) as model:
        session = project.ask(model, f"/mcp__{SERVER}__second_opinion grok")
    assert session.returncode == 0, session.why()
    assert {f"mcp__{SERVER}__{name}" for name in PROMPTS} <= set(session.init["slash_commands"]), session.why()
    assert asked and "Get a second opinion" in asked[0] and 'ai="grok"' in asked[0], session.why()
    assert [request.prompt.rpartition("\n")[2] for request in fake.requests] == ["Is 0.1 + 0.2 == 0.3?"]
    assert fake.requests[0].ai == "grok"
    assert '"ok":true' in session.tool_results()[0] and "[grok:" in session.tool_results()[0], session.why()
    assert session.result["result"] == FINAL_TEXT


def test_the_newest_claude_code_runs_the_scripted_model_s_tool_call_against_the_server_it_spawned(
    newest: Path, fake: FakeProvider, tmp_path: Path
) -> None:
    project = project_with_the_server(newest, fake, tmp_path)
    script = [ToolUse("ask_ai", {"ai": "openai", "prompt": "Which sort is stable?"})]
    with ScriptedModel(list(script)) as model:
        session = project.ask(model, "Ask openai which sort is stable.")
    assert session.init["mcp_servers"][0]["status"] == "connected", session.why()
    assert session.init["claude_code_version"] == NEWEST_VERSION
    assert project.protocol_versions() == ["2026-07-28"], project.server_log()  # stateless: no initialize
    assert [(request.ai, request.prompt.rpartition("\n")[2]) for request in fake.requests] == [
        ("openai", "Which sort is stable?")
    ]
    assert "[openai:" in session.tool_results()[0] and session.result["result"] == FINAL_TEXT, session.why()
    # Every turn of the agent loop reached the stand-in, none went anywhere else: two scripted turns.
    assert len(model.scripted_requests()) == 2


def test_ci_installs_the_newest_release_these_tests_were_written_against() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "--prefix .claude-code-newest" in ci and f"@anthropic-ai/claude-code@{NEWEST_VERSION} " in ci
    assert "--prefix .claude-code " in ci and f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION} " in ci
