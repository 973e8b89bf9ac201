"""The Codex dialect with the real Codex CLI (tests/cli_agents.py: pinned, installed from npm, a HOME of its own),
pointed at the loopback stand-in of the Responses API through a model provider of its config."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ai.cli.codex import CODEX
from core.errors import AuthenticationFailed
from tests.cli_agents import AgentHome, codex_cli, codex_endpoint, codex_env
from tests.fakes.responses_api import KEY, ResponsesModel, input_texts
from tests.fakes.scripted import Call, Script

pytestmark = pytest.mark.anyio

MODEL = "gpt-fake"
NOTE = "the meeting moved to Thursday"


def _agent(tmp_path: Path) -> AgentHome:
    agent = AgentHome.make(tmp_path)
    (agent.project / "notes.txt").write_text(NOTE + "\n")
    return agent


async def test_codex_answers_through_its_custom_endpoint_with_tokens_and_no_cost(tmp_path: Path) -> None:
    agent, codex = _agent(tmp_path), str(codex_cli())
    with ResponsesModel(script=Script(answer="Four.", input_tokens=30, output_tokens=5)) as model:
        argv = CODEX.argv(codex, "What is 2 + 2?", model=MODEL, session_id=None, extra_args=codex_endpoint(model))
        run = await agent.run(argv, "What is 2 + 2?", codex_env(agent, KEY))
        answer = CODEX.parse(run.stdout, run.stderr, run.returncode, ai="codex", model=MODEL)
    assert (answer.text, answer.input_tokens, answer.output_tokens, answer.cost_usd) == ("Four.", 30, 5, None), (
        run.why()
    )
    turn = model.turns()[0]
    assert turn["model"] == MODEL and input_texts(turn, "user")[-1] == "What is 2 + 2?"
    assert model.recorded()[0].headers["authorization"] == f"Bearer {KEY}"
    assert "read-only" in argv and not any("bypass" in arg or "yolo" in arg for arg in argv)


async def test_codex_reads_the_project_but_its_sandbox_refuses_a_write_and_an_escalation(tmp_path: Path) -> None:
    agent, codex = _agent(tmp_path), str(codex_cli())
    calls = (
        Call("exec_command", {"cmd": "cat notes.txt"}),
        Call("exec_command", {"cmd": "echo pwned > written.txt"}),
        Call("exec_command", {"cmd": "echo pwned > escalated.txt", "sandbox_permissions": "require_escalated",
                              "justification": "needed"}),
    )  # fmt: skip
    with ResponsesModel(script=Script(calls=calls, answer="Done.")) as model:
        argv = CODEX.argv(codex, "", model=MODEL, session_id=None, extra_args=codex_endpoint(model))
        run = await agent.run(argv, "Note it down.", codex_env(agent, KEY))
        answer = CODEX.parse(run.stdout, run.stderr, run.returncode, ai="codex", model=MODEL)
    assert answer.text == "Done.", run.why()
    outputs = [
        str(item.get("output")) for item in model.turns()[-1]["input"] if item.get("type") == "function_call_output"
    ]
    assert NOTE in outputs[0]  # reading works
    assert "Read-only file system" in outputs[1]  # the sandbox refused the write
    assert "approval policy is Never" in outputs[2]  # and the way out of it, without asking anyone
    assert sorted(p.name for p in agent.project.iterdir()) == ["notes.txt"]


WRITER = """
from mcp.server.mcpserver import MCPServer

server = MCPServer("writer")


@server.tool()
def write_note(text: str) -> str:
    \"\"\"Write a note into the project.\"\"\"
    open("written.txt", "w").write(text)
    return "written"


server.run()
"""


async def test_a_writing_tool_of_the_persons_own_mcp_server_is_refused_unasked(tmp_path: Path) -> None:
    agent, codex = _agent(tmp_path), str(codex_cli())
    (tmp_path / "writer.py").write_text(WRITER)
    (agent.home / ".codex").mkdir()
    server = f"command = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(tmp_path / 'writer.py'))}]\n"
    # required: up before the first turn, as a quick server would be
    (agent.home / ".codex" / "config.toml").write_text(f"[mcp_servers.writer]\n{server}required = true\n")
    with ResponsesModel(
        script=Script(calls=(Call("mcp__writer.write_note", {"text": "pwned"}),), answer="Done.")
    ) as model:
        argv = CODEX.argv(codex, "", model=MODEL, session_id=None, extra_args=codex_endpoint(model))
        run = await agent.run(argv, "Note it down.", codex_env(agent, KEY))
        answer = CODEX.parse(run.stdout, run.stderr, run.returncode, ai="codex", model=MODEL)
    assert answer.text == "Done.", run.why()
    output = [item for item in model.turns()[-1]["input"] if item.get("type") == "function_call_output"]
    assert "approval policy is never" in json.dumps(output)
    assert sorted(p.name for p in agent.project.iterdir()) == ["notes.txt"]


async def test_codex_not_signed_in_is_an_authentication_error_that_says_codex_login(tmp_path: Path) -> None:
    agent, codex = _agent(tmp_path), str(codex_cli())
    with ResponsesModel(script=Script()) as model:
        for extra, env in (
            (codex_endpoint(model, signed_in_with_chatgpt=True), codex_env(agent, None)),  # no sign-in in HOME
            (codex_endpoint(model), codex_env(agent, None)),  # the provider's key variable is not set
        ):
            argv = CODEX.argv(codex, "", model=MODEL, session_id=None, extra_args=extra)
            run = await agent.run(argv, "hi", env)
            with pytest.raises(AuthenticationFailed, match="Fix: codex login") as raised:
                CODEX.parse(run.stdout, run.stderr, run.returncode, ai="codex", model=MODEL)
            assert raised.value.fix == "codex login", run.why()
        assert [r.headers.get("authorization") for r in model.recorded()] == [None]  # asked once, without a key


async def test_codex_resumes_its_session_and_the_second_call_carries_the_first(tmp_path: Path) -> None:
    agent, codex = _agent(tmp_path), str(codex_cli())
    with ResponsesModel(script=Script(answer="Noted, Zed.")) as model:
        extra = codex_endpoint(model)
        first = await agent.run(
            CODEX.argv(codex, "", model=MODEL, session_id=None, extra_args=extra),
            "My name is Zed.",
            codex_env(agent, KEY),
        )
        session = CODEX.parse(first.stdout, first.stderr, first.returncode, ai="codex", model=MODEL).session_id
        assert session, first.why()
        argv = CODEX.argv(codex, "", model=MODEL, session_id=session, extra_args=extra)
        second = await agent.run(argv, "What is my name?", codex_env(agent, KEY))
        answer = CODEX.parse(second.stdout, second.stderr, second.returncode, ai="codex", model=MODEL)
    assert answer.session_id == session, second.why()
    resumed = model.turns()[-1]
    assert input_texts(resumed, "user")[-2:] == ["My name is Zed.", "What is my name?"]
    assert input_texts(resumed, "assistant") == ["Noted, Zed."]
