"""A real client: Claude Code's CLI (npm @anthropic-ai/claude-code) connects to the server the way the README
says to add it, `claude mcp add junior-ai -- python3 /path/to/run.py serve`, in a temporary HOME.

`claude mcp list` must report it connected, and the init line of `claude -p` must list our tools. Nothing
leaves the machine: there is no Anthropic key, `ANTHROPIC_BASE_URL` points at a closed loopback port, and
the CLI's updater and non-essential traffic are off; the prompt itself fails ("Not logged in"), after the
init line. `.ci/run` installs the CLI; without node and npm the test is skipped, saying why (in CI it fails).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.config.credentials import PROJECT_ROOT
from tests.helpers import closed_port, npm_client, write_credentials

# The last release that runs on Node 18/20 (later ones want Node 22); newer ones ship the same native binary.
CLAUDE_CODE_VERSION = "2.1.197"
PREFIX = PROJECT_ROOT / ".claude-code"
TOOLS = {"ask_ai", "ask_all_ais", "ai_debate", "collaborative_solve", "ai_consensus", "server_status", "threads"}


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
    assert {name.removeprefix("mcp__junior-ai__") for name in init["tools"] if name.startswith("mcp__")} == TOOLS
    assert init["apiKeySource"] == "none"  # no key reached the CLI, so no prompt left the machine
