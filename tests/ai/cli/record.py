"""Record the real CLIs' output for the dialects' table-driven tests: `python -m tests.ai.cli.record`.

Runs Codex CLI and Gemini CLI (tests/cli_agents.py: pinned versions, a scratch HOME, the loopback stand-ins) through
each scenario and writes what they printed, as they printed it, to tests/ai/cli/recorded/<cli>_<scenario>.json
(`returncode`, `stdout`, `stderr`: the end of it). Run it again after moving to a newer release.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from ai.cli.codex import CODEX
from ai.cli.gemini_cli import GEMINI_CLI
from tests.cli_agents import (
    CODEX_VERSION,
    GEMINI_VERSION,
    AgentHome,
    Run,
    codex_cli,
    codex_endpoint,
    codex_env,
    gemini_cli,
    gemini_env,
)
from tests.fakes import gemini_agent, responses_api
from tests.fakes.gemini_agent import GeminiModel
from tests.fakes.responses_api import ResponsesModel
from tests.fakes.scripted import Call, Script

__all__ = ["RECORDED", "WRITE_ATTEMPT", "recorded"]

RECORDED = Path(__file__).parent / "recorded"
STDERR_KEPT = 4_000  # characters of a run's stderr kept (its end: where the error is)
WRITE_ATTEMPT = "written by the model"  # what the scripted model tries to write into the project
ANSWER = "Four: the file says 2 + 2."
Scenario = Callable[[Path], Awaitable[Run]]


def recorded(name: str) -> dict[str, object]:
    """A recording: {"cli", "version", "returncode", "stdout", "stderr"}."""
    data: dict[str, object] = json.loads((RECORDED / f"{name}.json").read_text())
    return data


def _script(*calls: Call) -> Script:
    return Script(calls=calls, answer=ANSWER, input_tokens=21, output_tokens=8)


async def _codex(root: Path, script: Script, *, key: str | None, chatgpt: bool = False, resume: bool = False) -> Run:
    agent, codex = AgentHome.make(root), str(codex_cli())
    (agent.project / "notes.txt").write_text("2 + 2 = 4\n")
    with ResponsesModel(script=script) as model:
        extra = codex_endpoint(model, signed_in_with_chatgpt=chatgpt)
        argv = CODEX.argv(codex, "", model="gpt-fake", session_id=None, extra_args=extra)
        run = await agent.run(argv, "What does notes.txt say?", codex_env(agent, key))
        if not resume:
            return run
        session = CODEX.parse(run.stdout, run.stderr, run.returncode, ai="codex", model="gpt-fake").session_id
        argv = CODEX.argv(codex, "", model="gpt-fake", session_id=session, extra_args=extra)
        return await agent.run(argv, "And again?", codex_env(agent, key))


async def _gemini(
    root: Path,
    script: Script,
    *,
    key: str | None,
    signed_in: bool = True,
    trusted: bool = True,
    resume: bool = False,
    endpoint: bool = True,
) -> Run:
    agent, gemini = AgentHome.make(root), str(gemini_cli())
    (agent.project / "notes.txt").write_text("2 + 2 = 4\n")
    if signed_in:
        agent.gemini_signed_in(trusted=trusted)
    with GeminiModel(script=script) as model:
        argv = GEMINI_CLI.argv(gemini, "", model="gemini-2.5-flash", session_id=None, extra_args=())
        env = gemini_env(agent, model, key)
        if not endpoint:  # a person who never signed in: no key, no endpoint of their own
            del env["GOOGLE_GEMINI_BASE_URL"]
        run = await agent.run(argv, "What does notes.txt say?", env)
        if not resume:
            return run
        session = GEMINI_CLI.parse(run.stdout, run.stderr, run.returncode, ai="g", model="m").session_id
        argv = GEMINI_CLI.argv(gemini, "", model="gemini-2.5-flash", session_id=session, extra_args=())
        return await agent.run(argv, "And again?", gemini_env(agent, model, key))


_WRITE = {"cmd": f"echo '{WRITE_ATTEMPT}' > written.txt"}
CODEX_KEY, GEMINI_KEY = responses_api.KEY, gemini_agent.KEY
SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "codex_answer": ("codex", lambda root: _codex(root, _script(), key=CODEX_KEY)),
    "codex_tools": (
        "codex",
        lambda root: _codex(
            root, _script(Call("exec_command", {"cmd": "cat notes.txt"}), Call("exec_command", _WRITE)), key=CODEX_KEY
        ),
    ),
    "codex_resumed": ("codex", lambda root: _codex(root, _script(), key=CODEX_KEY, resume=True)),
    "codex_not_signed_in": ("codex", lambda root: _codex(root, _script(), key=None, chatgpt=True)),
    "codex_missing_key": ("codex", lambda root: _codex(root, _script(), key=None)),
    "gemini_answer": ("gemini", lambda root: _gemini(root, _script(), key=GEMINI_KEY)),
    "gemini_tools": (
        "gemini",
        lambda root: _gemini(
            root,
            _script(
                Call("read_file", {"file_path": "notes.txt"}),
                Call("write_file", {"file_path": "written.txt", "content": WRITE_ATTEMPT}, forced=True),
            ),
            key=GEMINI_KEY,
        ),
    ),
    "gemini_resumed": ("gemini", lambda root: _gemini(root, _script(), key=GEMINI_KEY, resume=True)),
    "gemini_not_signed_in": (
        "gemini",
        lambda root: _gemini(root, _script(), key=None, signed_in=False, endpoint=False),
    ),
    # The base URL alone picks 0.61's "gateway" sign-in, which it then rejects.
    "gemini_gateway_only": ("gemini", lambda root: _gemini(root, _script(), key=None, signed_in=False)),
    "gemini_bad_key": ("gemini", lambda root: _gemini(root, _script(), key="AIza-wrong")),
    "gemini_untrusted": ("gemini", lambda root: _gemini(root, _script(), key=GEMINI_KEY, trusted=False)),
}


async def _record(names: list[str]) -> None:
    RECORDED.mkdir(exist_ok=True)
    for name in names:
        cli, scenario = SCENARIOS[name]
        with tempfile.TemporaryDirectory() as root:
            run = await scenario(Path(root))
        record = {
            "cli": cli,
            "version": CODEX_VERSION if cli == "codex" else GEMINI_VERSION,
            "returncode": run.returncode,
            "stdout": run.stdout.decode(errors="replace"),
            "stderr": run.stderr.decode(errors="replace")[-STDERR_KEPT:],
        }
        (RECORDED / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: exit {run.returncode}", file=sys.stderr)


if __name__ == "__main__":
    anyio.run(_record, sys.argv[1:] or list(SCENARIOS))
