"""Every error message carries its fix: the variables and the credentials block for a refused key, the
(masked) URL for a connection that failed, the model and the URL for a 404 (and, for Gemini, the base
URL's form and the API version), one number and which limit for a timeout, a "did you mean" for a
misspelled block, and where credentials.json may live when there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from core.config.settings import load_settings, settings_or_problems
from serve.main import build_server
from tests.fakes import Behaviour, FakeProvider
from tests.helpers import FAST_RETRIES, answer_of, closed_port, credentials_for, write_credentials

pytestmark = pytest.mark.anyio

# case: (the AI asked, what the fake does, its block's changes, what the message must contain)
CASES: dict[str, tuple[str, Behaviour | None, dict[str, Any], list[str]]] = {
    "401": (
        "grok",
        Behaviour(status=401),
        {},
        ["(HTTP 401)", "Fix: check the key: set XAI_API_KEY or GROK_API_KEY, or grok.api_key in {file}"],
    ),
    "403": (
        "gemini",
        Behaviour(status=403),
        {},
        ["(HTTP 403)", "set GEMINI_API_KEY or GOOGLE_API_KEY, or gemini.api_key in {file}"],
    ),
    "refused": (
        "deepseek",
        None,
        {"base_url": "http://me:hunter2hunter2@127.0.0.1:{port}/v1"},
        [
            "Fix: nothing answered at http://me:***@127.0.0.1:{port}/v1",
            "deepseek.base_url in {file} (or DEEPSEEK_BASE_URL)",
        ],
    ),
    "404-openai": (
        "grok",
        Behaviour(status=404),
        {},
        [
            "(HTTP 404)",
            "check the model 'grok-3-mini' (grok.model in {file}) and the base URL http://127.0.0.1",
            "usually end in /v1",
        ],
    ),
    "404-gemini": (
        "gemini",
        Behaviour(status=404),
        {},
        [
            "(HTTP 404)",
            "Gemini's base URL takes no version path (https://generativelanguage.googleapis.com, not .../v1beta)",
            "the API version is v1 (set gemini.api_version in {file} or GEMINI_API_VERSION",
        ],
    ),
    "405-gemini-v1beta": (
        "gemini",
        Behaviour(status=405),
        {"api_version": "v1beta"},
        ["(HTTP 405)", "the API version is v1beta"],
    ),
    "timeout": ("grok", Behaviour(latency=30), {"timeout": 0.3}, ["no answer within 0.3 s (grok's timeout)"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_each_failure_message_says_how_to_fix_it(fake: FakeProvider, tmp_path: Path, case: str) -> None:
    ai, behaviour, block, expected = CASES[case]
    port = closed_port()
    body = credentials_for(fake, (ai,)) | FAST_RETRIES | {"attempts": 1}
    body[ai] |= {key: value.format(port=port) if isinstance(value, str) else value for key, value in block.items()}
    path = write_credentials(tmp_path / "credentials.json", body)
    if behaviour is not None:
        fake.behave(ai, behaviour)
    async with Client(build_server(load_settings(path, env={}))) as client:
        one = await client.call_tool("ask_ai", {"ai": ai, "prompt": "hi"})
        many = await client.call_tool("ask_all_ais", {"prompt": "hi", "ais": [ai]})
    for result in (one, many):
        text = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error
        for part in expected:
            assert part.format(file=path, port=port) in text, (part, text)
    assert "hunter2hunter2" not in str(one.content) + str(many.content)


async def test_a_timeout_line_states_one_number(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",)) | FAST_RETRIES | {"attempts": 1}
    body["grok"]["timeout"] = 0.3
    fake.behave("grok", latency=30)
    async with Client(build_server(load_settings(write_credentials(tmp_path / "c.json", body), env={}))) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "hi", "ais": ["grok"], "deadline_s": 20})
    text = result.content[0].text  # type: ignore[union-attr]
    assert answer_of(text) == "## grok (grok-3-mini) failed: timeout\nno answer within 0.3 s (grok's timeout)"


async def test_the_calls_deadline_is_named_when_it_is_what_ended_the_call(fake: FakeProvider, tmp_path: Path) -> None:
    body = credentials_for(fake, ("grok",)) | FAST_RETRIES
    fake.behave("grok", latency=30)
    async with Client(build_server(load_settings(write_credentials(tmp_path / "c.json", body), env={}))) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi", "deadline_s": 1})
    assert "no answer within 1 s (the call's deadline_s)" in result.content[0].text  # type: ignore[union-attr]


def test_a_misspelled_block_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "credentials.json", {"gemeni": {"api_key": "k" * 20}, "opneai": {}})
    problems = settings_or_problems(path, env={}).problems
    assert f"{path}: gemeni: not a known AI; did you mean 'gemini'? (a custom AI's block needs base_url)" in problems
    assert any("opneai: not a known AI; did you mean 'openai'?" in problem for problem in problems)


async def test_with_no_key_the_answer_says_where_credentials_json_may_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", tmp_path / "none" / "credentials.json")
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", tmp_path)
    async with Client(build_server(load_settings(env={}))) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "hi"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert "--credentials PATH, then $JUNIOR_AI_CREDENTIALS, then" in text
    assert str(tmp_path / "credentials.json") in text and str(tmp_path / "none" / "credentials.json") in text
