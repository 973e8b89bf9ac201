"""The Gemini CLI dialect with the real Gemini CLI (tests/cli_agents.py: pinned, installed from npm, a HOME of its
own), pointed at the loopback stand-in of the Gemini API with `GOOGLE_GEMINI_BASE_URL` and `GEMINI_API_KEY`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai.cli.gemini_cli import GEMINI_CLI
from core.errors import AuthenticationFailed
from tests.cli_agents import AgentHome, gemini_cli, gemini_env
from tests.fakes.gemini_agent import KEY, GeminiModel, content_texts
from tests.fakes.scripted import Call, Script

pytestmark = pytest.mark.anyio

MODEL = "gemini-2.5-flash"
NOTE = "the meeting moved to Thursday"


def _agent(tmp_path: Path, *, signed_in: bool = True, trusted: bool = True) -> AgentHome:
    agent = AgentHome.make(tmp_path)
    (agent.project / "notes.txt").write_text(NOTE + "\n")
    if signed_in:
        agent.gemini_signed_in(trusted=trusted)
    return agent


def _results(body: dict[str, object]) -> list[str]:
    """The function responses a Gemini request carries, as text."""
    contents = body.get("contents")
    parts = (
        [p for c in contents if isinstance(c, dict) for p in c.get("parts", [])] if isinstance(contents, list) else []
    )
    return [str(p["functionResponse"]["response"]) for p in parts if "functionResponse" in p]


async def test_gemini_cli_answers_through_its_base_url_with_tokens_and_no_cost(tmp_path: Path) -> None:
    agent, gemini = _agent(tmp_path), str(gemini_cli())
    with GeminiModel(script=Script(answer="Four.", input_tokens=30, output_tokens=5)) as model:
        argv = GEMINI_CLI.argv(gemini, "What is 2 + 2?", model=MODEL, session_id=None, extra_args=())
        run = await agent.run(argv, "What is 2 + 2?", gemini_env(agent, model, KEY))
        answer = GEMINI_CLI.parse(run.stdout, run.stderr, run.returncode, ai="gemini-cli", model=MODEL)
    assert (answer.text, answer.model, answer.input_tokens, answer.output_tokens) == ("Four.", MODEL, 30, 5), run.why()
    assert answer.cost_usd is None and answer.session_id
    turn = model.turns()[0]
    assert content_texts(turn, "user")[-1] == "What is 2 + 2?"
    assert model.recorded()[0].headers["x-goog-api-key"] == KEY
    assert argv[argv.index("--approval-mode") + 1] == "plan" and not any("yolo" in arg for arg in argv)


async def test_gemini_cli_reads_the_project_but_no_tool_that_writes_or_leaves_plan_mode_exists(tmp_path: Path) -> None:
    agent, gemini = _agent(tmp_path), str(gemini_cli())
    edit = {"file_path": "notes.txt", "old_string": "Thursday", "new_string": "never", "instruction": "x"}
    calls = (
        Call("read_file", {"file_path": "notes.txt"}),
        Call("write_file", {"file_path": "written.txt", "content": "pwned"}, forced=True),
        # Without the read-only policy, exit_plan_mode switches a headless run to YOLO, unasked, and the edit and
        # the command below go through (seen with 0.61; from the default mode too, after enter_plan_mode).
        Call("enter_plan_mode", {"reason": "plan"}, forced=True),
        Call("exit_plan_mode", {"plan_filename": "plan.md"}, forced=True),
        Call("replace", edit, forced=True),
        Call("run_shell_command", {"command": "echo pwned > shell.txt"}, forced=True),
    )
    with GeminiModel(script=Script(calls=calls, answer="Done.")) as model:
        argv = GEMINI_CLI.argv(gemini, "", model=MODEL, session_id=None, extra_args=())
        run = await agent.run(argv, "Note it down.", gemini_env(agent, model, KEY))
        answer = GEMINI_CLI.parse(run.stdout, run.stderr, run.returncode, ai="gemini-cli", model=MODEL)
        declared = {d["name"] for t in model.turns()[0]["tools"] for d in t.get("functionDeclarations", [])}
    assert answer.text == "Done.", run.why()
    assert declared <= {"read_file", "list_directory", "glob", "grep_search", "google_web_search", "update_topic"}
    results = _results(model.turns()[-1])
    assert NOTE in results[0]  # reading works
    assert len(results) == len(calls) and all("not found" in result for result in results[1:]), results
    assert sorted(p.name for p in agent.project.iterdir()) == ["notes.txt"]
    assert (agent.project / "notes.txt").read_text() == NOTE + "\n"


async def test_gemini_cli_not_signed_in_is_an_authentication_error_that_says_how_to_sign_in(tmp_path: Path) -> None:
    agent, gemini = _agent(tmp_path, signed_in=False), str(gemini_cli())
    with GeminiModel(script=Script()) as model:
        env = gemini_env(agent, model, None)
        del env["GOOGLE_GEMINI_BASE_URL"]  # someone who never signed in: no key, no endpoint
        argv = GEMINI_CLI.argv(gemini, "", model=MODEL, session_id=None, extra_args=())
        run = await agent.run(argv, "hi", env)
        with pytest.raises(AuthenticationFailed, match="sign in") as raised:
            GEMINI_CLI.parse(run.stdout, run.stderr, run.returncode, ai="gemini-cli", model=MODEL)
        assert raised.value.fix == GEMINI_CLI.login_fix, run.why()
        assert model.recorded() == []


async def test_gemini_cli_with_a_wrong_key_or_an_untrusted_project_is_an_authentication_error(tmp_path: Path) -> None:
    gemini = str(gemini_cli())
    with GeminiModel(script=Script()) as model:
        for agent, key, fix in (
            (_agent(tmp_path / "a"), "AIza-wrong", "GEMINI_API_KEY"),
            (_agent(tmp_path / "b", trusted=False), KEY, "trust the project"),
        ):
            argv = GEMINI_CLI.argv(gemini, "", model=MODEL, session_id=None, extra_args=())
            run = await agent.run(argv, "hi", gemini_env(agent, model, key))
            with pytest.raises(AuthenticationFailed) as raised:
                GEMINI_CLI.parse(run.stdout, run.stderr, run.returncode, ai="gemini-cli", model=MODEL)
            assert raised.value.fix and fix in raised.value.fix, run.why()


async def test_gemini_cli_resumes_its_session_and_the_second_call_carries_the_first(tmp_path: Path) -> None:
    agent, gemini = _agent(tmp_path), str(gemini_cli())
    with GeminiModel(script=Script(answer="Noted, Zed.")) as model:
        env = gemini_env(agent, model, KEY)
        first = await agent.run(
            GEMINI_CLI.argv(gemini, "", model=MODEL, session_id=None, extra_args=()), "My name is Zed.", env
        )
        session = GEMINI_CLI.parse(first.stdout, first.stderr, first.returncode, ai="g", model=MODEL).session_id
        assert session, first.why()
        argv = GEMINI_CLI.argv(gemini, "", model=MODEL, session_id=session, extra_args=())
        second = await agent.run(argv, "What is my name?", env)
        answer = GEMINI_CLI.parse(second.stdout, second.stderr, second.returncode, ai="g", model=MODEL)
    assert answer.session_id == session and answer.input_tokens == 21, second.why()  # this run's tokens only
    resumed = model.turns()[-1]
    assert content_texts(resumed, "user")[-2:] == ["My name is Zed.", "What is my name?"]
    assert content_texts(resumed, "model") == ["Noted, Zed."]
