"""A broken configuration never makes the server vanish: over stdio it starts, lists its tools, and every
tool answer says what is wrong (the file, the AI, the field) and how to check the fix; the good AIs of a
half-broken file keep working. A person at a terminal, and --check, are told and get a non-zero exit.
A store that cannot be used (a directory, a corrupt file, an unreachable server) never breaks asking;
--check warns of it, with the fix, and still passes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from core.config.credentials import PROJECT_ROOT
from core.config.settings import CHECK_COMMAND, Settings, load_settings
from core.store.schema import LATEST_VERSION
from serve.check import run_check
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import SERVER, closed_port, credentials_for, write_credentials

pytestmark = pytest.mark.anyio

KEY = "test-key-for-grok-0123456789"
BROKEN = {
    "trailing-comma": (
        '{"grok": {"api_key": "' + KEY + '", "timeout": 5,}}',
        ["credentials.json: not valid JSON", "line 1 column", "remove the comma"],
    ),
    "timeout-not-a-number": (
        json.dumps({"grok": {"api_key": KEY, "timeout": "abc"}}),
        ["credentials.json: grok: timeout: Input should be a valid number", "'abc'"],
    ),
    "custom-ai-without-model": (
        json.dumps({"mine": {"base_url": "http://127.0.0.1:9/v1"}}),
        ["credentials.json: mine: a custom AI needs model", "MINE_MODEL"],
    ),
    "misspelled-block": (
        json.dumps({"gemeni": {"api_key": KEY}}),
        ["credentials.json: gemeni: not a known AI; did you mean 'gemini'?"],
    ),
}


def stdio(tmp_path: Path, *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[SERVER, *args], env={"HOME": str(tmp_path)})


def text_of(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.parametrize("case", sorted(BROKEN))
async def test_a_broken_configuration_starts_and_every_tool_says_what_is_wrong(tmp_path: Path, case: str) -> None:
    body, expected = BROKEN[case]
    path = tmp_path / "credentials.json"
    path.write_text(body)
    path.chmod(0o600)
    with anyio.fail_after(30):
        async with Client(stdio(tmp_path, "--credentials", str(path))) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            asked = await client.call_tool("ask_all_ais", {"prompt": "hi"})
            status = await client.call_tool("server_status", {})
    assert "ask_ai" in tools and "server_status" in tools
    assert asked.is_error
    for shown in (text_of(asked), text_of(status)):
        assert str(path) in shown and CHECK_COMMAND in shown
        for part in expected:
            assert part in shown, (part, shown)
    assert not status.is_error and (status.structured_content or {})["problems"]


async def test_a_missing_credentials_file_named_on_the_command_line_is_reported_the_same_way(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere" / "credentials.json"
    with anyio.fail_after(30):
        async with Client(stdio(tmp_path, "--credentials", str(missing))) as client:
            result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "hi"})
    assert result.is_error
    assert f"{missing}: no such credentials file (named by --credentials)" in text_of(result)


async def test_a_half_broken_file_keeps_the_good_ais_working_and_names_the_bad_one(
    fake: FakeProvider, tmp_path: Path
) -> None:
    body = credentials_for(fake, ("grok", "deepseek"))
    body["deepseek"]["timeout"] = "abc"
    path = write_credentials(tmp_path / "credentials.json", body)
    with anyio.fail_after(30):
        async with Client(stdio(tmp_path, "--credentials", str(path))) as client:
            good = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "still here"})
            bad = await client.call_tool("ask_ai", {"ai": "deepseek", "prompt": "hi"})
    assert not good.is_error and text_of(good).startswith("[grok:grok-3-mini] still here")
    assert "deepseek: timeout: Input should be a valid number" in text_of(good), "the answer names the problem"
    assert bad.is_error and "deepseek is not usable: its configuration is broken" in text_of(bad)


async def test_the_example_file_copied_unchanged_needs_keys_and_one_real_key_asks_that_ai_only(
    fake: FakeProvider, tmp_path: Path
) -> None:
    path = tmp_path / "credentials.json"
    shutil.copy(PROJECT_ROOT / "credentials.example.json", path)
    path.chmod(0o600)
    unchanged = load_settings(path, env={})
    async with Client(build_server(unchanged)) as client:
        status = await client.call_tool("server_status", {})
    keys = {ai["name"]: ai["key"] for ai in (status.structured_content or {})["ais"] if ai["enabled"]}
    assert keys == dict.fromkeys(["gemini", "openai", "grok", "deepseek", "openrouter"], "placeholder")
    assert "needs a key (placeholder: set GEMINI_API_KEY or gemini.api_key)" in text_of(status)

    body = json.loads(path.read_text())
    body["grok"] |= credentials_for(fake, ("grok",))["grok"]  # one real key (and the fake's address)
    one_key = load_settings(write_credentials(path, body), env={})
    async with Client(build_server(one_key)) as client:
        result = await client.call_tool("ask_all_ais", {"prompt": "who answers?"})
    assert [r["ai"] for r in (result.structured_content or {})["results"]] == ["grok"]
    assert {request.ai for request in fake.requests} == {"grok"}


@pytest.mark.parametrize("how", ["--check", "a terminal"])
def test_check_and_a_terminal_start_print_the_problem_and_exit_non_zero(tmp_path: Path, how: str) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(BROKEN["timeout-not-a-number"][0])
    path.chmod(0o600)
    command = [sys.executable, SERVER, "--credentials", str(path)]
    if how == "--check":
        done = subprocess.run([*command, "--check"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        shown = done.stdout
    else:
        script = "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"  # stdin a terminal
        done = subprocess.run(
            [sys.executable, "-c", script, *command], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        shown = done.stdout + done.stderr
    assert done.returncode != 0
    assert "grok: timeout: Input should be a valid number" in shown and CHECK_COMMAND in shown


# -- the store: a warning, never a failure ----------------------------------------------------------


def broken_store(kind: str, tmp_path: Path) -> tuple[str, str]:
    """A store URL that cannot be used, and what --check must say of it."""
    if kind == "a directory":
        (tmp_path / "junior.db").mkdir()
        return f"sqlite:///{tmp_path / 'junior.db'}", "junior.db is a directory, not a file. Fix: rename or remove"
    if kind == "a corrupt file":
        (tmp_path / "junior.db").write_bytes(b"not a database at all " * 1000)
        return f"sqlite:///{tmp_path / 'junior.db'}", "is not a SQLite database, or is corrupt"
    url = f"postgresql://junior:store-password-0123@127.0.0.1:{closed_port()}/junior"
    return url, "PostgreSQL cannot be reached"


async def test_check_reports_the_store_it_opens(fake: FakeProvider, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "store" / "junior.db"
    out = io.StringIO()
    with anyio.fail_after(30):
        code = await run_check(settings.model_copy(update={"database_url": f"sqlite:///{path}"}), out)
        again = io.StringIO()
        await run_check(settings.model_copy(update={"database_url": f"sqlite:///{path}"}), again)
    assert code == 0, out.getvalue()
    lines = out.getvalue().splitlines()
    assert f"store: sqlite+aiosqlite:///{path}: opens, schema version {LATEST_VERSION} (created now)" in lines
    assert lines[-1] == "all enabled AIs answered"
    assert f"store: sqlite+aiosqlite:///{path}: opens, schema version {LATEST_VERSION}" in again.getvalue().splitlines()


@pytest.mark.parametrize("kind", ["a directory", "a corrupt file", "an unreachable PostgreSQL"])
async def test_check_warns_of_a_store_that_cannot_be_used_and_still_passes(
    fake: FakeProvider, settings: Settings, tmp_path: Path, kind: str
) -> None:
    url, why = broken_store(kind, tmp_path)
    out = io.StringIO()
    with anyio.fail_after(30):
        code = await run_check(settings.model_copy(update={"database_url": url}), out)
    shown = out.getvalue()
    assert code == 0, "asking works without the store: a warning, not a failure"
    [line] = [line for line in shown.splitlines() if line.startswith("store: ")]
    assert ": WARNING: cannot be used: " in line and why in line and "Fix: " in line
    assert line.endswith("Asking works without it (no threads, no model cache)")
    assert "store-password-0123" not in shown


@pytest.mark.parametrize("kind", ["a directory", "a corrupt file", "an unreachable PostgreSQL"])
async def test_a_store_that_cannot_be_used_never_breaks_asking(
    fake: FakeProvider, settings: Settings, tmp_path: Path, kind: str
) -> None:
    url, why = broken_store(kind, tmp_path)
    async with Client(build_server(settings.model_copy(update={"database_url": url}))) as client:
        with anyio.fail_after(30):
            asked = await client.call_tool("ask_all_ais", {"prompt": "still here?"})
            status = await client.call_tool("server_status", {"models": True})
    assert not asked.is_error and (asked.structured_content or {})["failed"] == 0
    models = (status.structured_content or {})["models"]
    assert all(ai["models"] for ai in models["ais"])
    assert why in models["notes"][0]
