"""Files and long calls through Claude Code's newest CLI (tests/claude_code.py: 2.1.337, the stateless
2026-07-28 protocol), as a new user meets them: `claude mcp add` in a scratch project spawns the server, a
scripted stand-in for the Messages API plays the model, and HOME is a temporary directory of its own,
holding a file outside the project.

- The project directory Claude Code declares is the call's root: a relative and an absolute path in it
  reach the fake provider; a file in HOME, outside it, is refused and never sent (issue 23: the server fell
  back to the home directory, so the project's files were refused and the home file was sent).
- With `MCP_TOOL_TIMEOUT=10000` and `JUNIOR_AI_HANDOFF_S=4`, a fan-out over an AI that answers in 1 s and
  one that answers in 14 s returns the fast answer and a `job_id` before Claude Code cuts it, and `jobs`
  brings both answers (without the hand-off, Claude Code ends the call at 10 s with nothing).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.claude_code import ClaudeCodeProject, newest_claude, serve_command
from tests.fakes import FakeProvider
from tests.fakes.messages_api import FINAL_TEXT, Conversation, ScriptedModel, ToolUse
from tests.helpers import credentials_for, write_credentials

CUT_OFF_MS = 10_000  # MCP_TOOL_TIMEOUT: Claude Code ends a tool call that takes longer
HANDOFF_S = 4  # JUNIOR_AI_HANDOFF_S: well inside the cut-off
FAST_S, SLOW_S = 1.0, 14.0  # the two AIs' answers: one in, one past the cut-off
POLL_S = 8  # jobs' wait_s: each poll ends inside the cut-off too


@pytest.fixture(scope="module")
def newest() -> Path:
    return newest_claude()


def project_in_a_home_of_its_own(
    claude: Path, fake: FakeProvider, root: Path, ais: tuple[str, ...], env: dict[str, str] | None = None
) -> ClaudeCodeProject:
    """A scratch project with the server added by `claude mcp add`, its AIs on the fake provider (each may
    take SLOW_S and more); the server gets the project's temporary HOME too (so `~` and the store's data
    directory are in it)."""
    patient = {name: {"timeout": 2 * SLOW_S} for name in ais}
    credentials = write_credentials(root / "credentials.json", credentials_for(fake, ais, **patient))
    project = ClaudeCodeProject.make(claude, root)
    project.add_server(serve_command(credentials), env={"HOME": str(project.home), **(env or {})})
    return project


def structured(result: str) -> dict[str, Any]:
    """A tool result as Claude Code handed it to the model: our structured content as JSON ({} if not)."""
    try:
        found = json.loads(result)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def test_the_newest_claude_code_s_project_is_the_root_files_are_read_in_and_a_home_file_outside_it_is_never_sent(
    newest: Path, fake: FakeProvider, tmp_path: Path
) -> None:
    project = project_in_a_home_of_its_own(newest, fake, tmp_path, ("grok",))
    (project.directory / "src").mkdir()
    (project.directory / "src" / "hello.py").write_text("print('hello from the project')\n")
    notes = project.directory / "docs" / "notes.md"
    notes.parent.mkdir()
    notes.write_text("Notes kept in the project.\n")
    diary = project.home / "private" / "diary.txt"
    diary.parent.mkdir()
    diary.write_text("Dear diary: the secret word is marzipan-7f3a.\n")
    script = [
        ToolUse("ask_ai", {"ai": "grok", "prompt": "Review the relative one.", "files": ["src/hello.py"]}),
        ToolUse("ask_ai", {"ai": "grok", "prompt": "Review the absolute one.", "files": [str(notes)]}),
        ToolUse("ask_ai", {"ai": "grok", "prompt": "Read my diary.", "files": ["~/private/diary.txt"]}),
    ]
    with ScriptedModel(list(script)) as model:
        session = project.ask(model, "Ask grok about these files.")

    assert session.returncode == 0 and session.result["result"] == FINAL_TEXT, session.why()
    assert project.protocol_versions() == ["2026-07-28"], project.server_log()
    relative, absolute, home = session.tool_results()
    # The project's files, by a relative and by an absolute path, reached the provider.
    assert len(fake.requests) == 2, session.why()
    assert "Review the relative one." in fake.requests[0].prompt, session.why()
    assert '"src/hello.py"' in fake.requests[0].prompt and "print('hello from the project')" in fake.requests[0].prompt
    assert "Review the absolute one." in fake.requests[1].prompt, session.why()
    assert '"docs/notes.md"' in fake.requests[1].prompt and "Notes kept in the project." in fake.requests[1].prompt
    assert "[grok:" in relative and "[grok:" in absolute, session.why()
    # The home file is outside the project Claude Code declared: refused, and its text went nowhere.
    assert "~/private/diary.txt: outside the allowed roots" in home and str(project.directory) in home, home
    assert "marzipan" not in json.dumps([request.body for request in fake.requests])
    assert "marzipan" not in json.dumps(model.requests)


def test_the_newest_claude_code_gets_the_fast_answer_and_a_job_id_before_its_cut_off_and_jobs_brings_both(
    newest: Path, fake: FakeProvider, tmp_path: Path
) -> None:
    fake.behave("grok", latency=FAST_S)
    fake.behave("openai", latency=SLOW_S)
    project = project_in_a_home_of_its_own(
        newest, fake, tmp_path, ("grok", "openai"), env={"JUNIOR_AI_HANDOFF_S": str(HANDOFF_S)}
    )

    def poll(conversation: Conversation) -> ToolUse | None:
        """`jobs` with the job_id the fan-out handed off, until the job is no longer running."""
        job_id = structured(conversation.results[0]).get("job_id")
        if not isinstance(job_id, str) or structured(conversation.results[-1]).get("status") != "running":
            return None
        return ToolUse("jobs", {"job_id": job_id, "wait_s": POLL_S})

    fan_out = ToolUse("ask_all_ais", {"prompt": "Which sort is stable?", "ais": ["grok", "openai"]})
    # The slow answer is in at about 14 s; the hand-off at 4 s; each poll waits at most 8 s: two polls do.
    with ScriptedModel([fan_out, poll, poll, poll]) as model:
        session = project.ask(model, "Ask both.", env={"MCP_TOOL_TIMEOUT": str(CUT_OFF_MS)})

    assert session.returncode == 0 and session.result["result"] == FINAL_TEXT, session.why()
    results = session.tool_results()
    handed_off, done = structured(results[0]), structured(results[-1])
    # Before the cut-off: the fast answer, marked as received so far, and the job that goes on.
    assert handed_off.get("status") == "running" and handed_off.get("tool") == "ask_all_ais", session.why()
    assert [(answer["ai"], answer["ok"]) for answer in handed_off["received"]] == [("grok", True)], results[0]
    assert "[grok:" in handed_off["received"][0]["text"], results[0]
    took = [re.search(r"'ask_all_ais' completed successfully in (\d+)s", line) for line in project.server_log()]
    seconds = [int(found.group(1)) for found in took if found]  # as Claude Code logged the call's end
    assert len(seconds) == 1 and HANDOFF_S <= seconds[0] < CUT_OFF_MS / 1000, project.server_log()
    # jobs brings the whole result: both answers, each AI asked once.
    assert done.get("job_id") == handed_off["job_id"] and done.get("status") == "done", session.why()
    answers = {answer["ai"]: answer["text"] for answer in done["results"] if answer["ok"]}
    assert set(answers) == {"grok", "openai"} and "[openai:" in answers["openai"], results[-1]
    assert sorted(request.ai for request in fake.requests) == ["grok", "openai"]
