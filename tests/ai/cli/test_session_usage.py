"""What the CLI client books for a resumed session: this run's tokens and cost, whatever the CLI reports.

Codex reports a resumed session's running totals (42/16 tokens after two runs of 21/8), Gemini CLI this run's
alone: a script named after each replays the CLI's real output (tests/ai/cli/recorded/), the first run's and
then the resumed run's, under one session id, and the client's `ask` is read for the second turn of a thread.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from ai.cli.client import CliClient
from ai.request import Request
from core.config.settings import load_settings
from core.redact import Redactor
from tests.ai.cli.record import recorded
from tests.helpers import write_credentials

pytestmark = pytest.mark.anyio

REPLAY = """#!{python}
import os, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.stdin.read()
resumed = "resume" in sys.argv or "--resume" in sys.argv
sys.stdout.write(open(os.path.join(here, "resumed.out" if resumed else "first.out")).read())
"""


def replaying(tmp_path: Path, command: str, first: str, resumed: str) -> Path:
    """A `command` script that prints recording `first`, or `resumed` when asked to resume (one session id)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    first_run, resumed_run = str(recorded(first)["stdout"]), str(recorded(resumed)["stdout"])
    session = _session_id(first_run)
    (bin_dir / "first.out").write_text(first_run)
    (bin_dir / "resumed.out").write_text(resumed_run.replace(_session_id(resumed_run), session))
    script = bin_dir / command
    script.write_text(REPLAY.format(python=sys.executable))
    script.chmod(0o755)
    return script


def _session_id(stdout: str) -> str:
    for line in [stdout, *stdout.splitlines()]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and (found := event.get("thread_id") or event.get("session_id")):
            return str(found)
    raise AssertionError(f"no session id in {stdout[:200]!r}")


@pytest.mark.parametrize(
    ("command", "first", "resumed", "tokens"),
    [
        ("codex", "codex_answer", "codex_resumed", [(21, 8), (21, 8)]),  # reported: 21/8, then 42/16
        ("gemini", "gemini_answer", "gemini_resumed", [(21, 8), (21, 8)]),  # reported: 21/8, then 21/8
    ],
)
async def test_a_resumed_session_books_only_this_runs_tokens(
    tmp_path: Path, command: str, first: str, resumed: str, tokens: list[tuple[int, int]]
) -> None:
    script = replaying(tmp_path, command, first, resumed)
    (tmp_path / "project").mkdir()
    body = {"agent": {"kind": "cli", "command": str(script)}, "allowed_roots": [str(tmp_path / "project")]}
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    client = CliClient.build(settings.ais["agent"], settings, Redactor())
    booked = []
    with anyio.fail_after(60):
        for prompt in ("My name is Zed.", "What is my name?"):
            completion = await client.ask(Request(prompt, thread_id="thread-1"))
            assert completion.usage is not None
            booked.append((completion.usage.input_tokens, completion.usage.output_tokens))
            assert completion.usage.cost_usd is None, "no cost reported: unknown, never $0"
    assert booked == tokens
    session = await client.sessions.get("thread-1", "agent")
    assert session is not None, "the session is kept"
    assert "resume" in " ".join(client.argv(Request("again"), session.session_id)[0]), "the session is resumed"
