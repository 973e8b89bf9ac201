"""A CLI agent's block (`"kind": "cli"`): recognised from its command or its `cli` field, needing no key, and
refused with what is valid when its CLI is unknown, its path relative or its args would lift its permissions;
a bad block never stops the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ai.cli.client import dialect_for
from core.config.cli import CLI_KEY_VARS, bypass_flags_in
from core.config.settings import load_settings, settings_or_problems
from tests.fakes.cli import fake_claude
from tests.helpers import write_credentials


def settings_for(tmp_path: Path, body: dict[str, Any], path: str = "/usr/bin:/bin") -> Any:
    return settings_or_problems(write_credentials(tmp_path / "credentials.json", body), env={"PATH": path})


def test_a_cli_block_needs_no_key_and_gets_the_cli_defaults(tmp_path: Path) -> None:
    claude = fake_claude(tmp_path)
    body = {"claude": {"kind": "cli", "command": "claude"}}
    ai = load_settings(write_credentials(tmp_path / "c.json", body), env={"PATH": str(claude.parent)}).ais["claude"]
    assert (ai.kind, ai.usable, ai.api_key, ai.model, ai.max_concurrency, ai.attempts) == (
        "cli",
        True,
        None,
        "default",
        2,
        1,
    )
    assert ai.cli is not None and (ai.cli.cli, ai.cli.path, ai.base_url) == ("claude_code", str(claude), "claude")


def test_a_wrapper_with_another_name_says_which_cli_it_is(tmp_path: Path) -> None:
    script = fake_claude(tmp_path)
    wrapper = script.with_name("my-agent")
    wrapper.symlink_to(script)
    body = {"mine": {"kind": "cli", "command": str(wrapper), "cli": "claude_code", "model": "sonnet", "timeout": 90}}
    ai = settings_for(tmp_path, body).ais["mine"]
    assert ai.cli.cli == "claude_code" and (ai.model, ai.timeout, ai.usable) == ("sonnet", 90, True)


@pytest.mark.parametrize(
    ("block", "said"),
    [
        ({"command": "aider"}, "command 'aider' is not a CLI we know; valid: claude_code (claude), codex (codex)"),
        ({"command": "claude", "cli": "cursor"}, "cli 'cursor' is not a CLI we know; valid: claude_code"),
        ({"command": "bin/claude"}, "command 'bin/claude': a path must be absolute (or a name on PATH)"),
        ({}, 'a CLI AI needs "command": "claude", "codex", "gemini" or an absolute path'),
        ({"command": "claude", "args": "--effort low"}, "args must be a list of strings"),
        ({"command": "claude", "env": {"A": 1}}, "env must be an object of strings"),
        (
            {"command": "claude", "api_key": "x"},
            "unknown field(s) api_key; valid: args, cli, command, context_tokens, enabled, env, kind",
        ),
        ({"command": "claude", "max_concurrency": 0}, "max_concurrency: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_cli_block_is_a_problem_that_says_what_is_valid(tmp_path: Path, block: dict[str, Any], said: str) -> None:
    ollama = {"base_url": "http://h/v1", "model": "m"}
    settings = settings_for(tmp_path, {"agent": {"kind": "cli", **block}, "ollama": ollama})
    assert len(settings.problems) == 1 and said in settings.problems[0], settings.problems
    assert "agent" not in settings.ais and "ollama" in settings.ais, "the other AIs still work"


@pytest.mark.parametrize(
    "args",
    [
        ["--dangerously-skip-permissions"],
        ["--allow-dangerously-skip-permissions"],
        ["--yolo"],
        ["-y"],
        ["--dangerously-bypass-approvals-and-sandbox"],
        ["--full-auto"],
        ["--approval-mode", "yolo"],
        ["--approval-mode=yolo"],
        ["--permission-mode", "bypassPermissions"],
        ["--permission-mode", "acceptEdits"],
        ["--sandbox", "danger-full-access"],
        ["-a", "never"],
    ],
)
def test_args_that_lift_the_permissions_are_refused_with_what_is_allowed(tmp_path: Path, args: list[str]) -> None:
    settings = settings_for(tmp_path, {"claude": {"kind": "cli", "command": "claude", "args": ["--effort", *args]}})
    assert "claude" not in settings.ais
    (problem,) = settings.problems
    assert f"args {' '.join(args)}: the CLI runs read-only" in problem
    assert "allowed: any other flag (e.g. --effort low, --add-dir DIR)" in problem


@pytest.mark.parametrize(
    ("cli", "args", "refused"),
    [
        ("codex", ["--sandbox", "read-only"], "--sandbox"),  # ours is read-only; none other is taken
        ("codex", ["-c", 'sandbox_mode="danger-full-access"'], '-c sandbox_mode="danger-full-access"'),
        ("codex", ["--config=approval_policy.granular=true"], "--config=approval_policy.granular=true"),
        ("codex", ["--add-dir", "/"], "--add-dir"),
        ("gemini_cli", ["--approval-mode", "plan"], "--approval-mode"),  # ours is plan, with the admin policy
        ("gemini_cli", ["--policy", "mine.toml"], "--policy"),
        ("gemini_cli", ["--admin-policy=open.toml"], "--admin-policy=open.toml"),
        ("gemini_cli", ["-i", "hi"], "-i"),
        ("claude_code", ["--tools", "Bash"], "--tools"),
        ("claude_code", ["--settings", '{"permissions": {"defaultMode": "bypassPermissions"}}'], "--settings"),
        ("claude_code", ["--allowedTools=Bash"], "--allowedTools=Bash"),
    ],
)
def test_each_clis_own_refused_flags_are_a_problem_when_the_settings_are_read(
    tmp_path: Path, cli: str, args: list[str], refused: str
) -> None:
    block = {"kind": "cli", "command": "/bin/true", "cli": cli, "args": ["--verbose", *args]}
    settings = settings_for(tmp_path, {"agent": block})
    (problem,) = settings.problems
    assert "agent" not in settings.ais and f"agent: args {refused}: the CLI runs read-only" in problem, problem


@pytest.mark.parametrize(
    ("cli", "args"),
    [
        ("codex", ["-c", 'model_provider="local"', "--profile", "work", "--enable", "web_search"]),
        ("gemini_cli", ["--skip-trust", "--include-directories", "../docs", "--sandbox"]),
        ("claude_code", ["--effort", "low", "--add-dir", "../docs"]),
    ],
)
def test_each_clis_harmless_args_are_kept(tmp_path: Path, cli: str, args: list[str]) -> None:
    block = {"kind": "cli", "command": "/bin/true", "cli": cli, "args": args}
    settings = settings_for(tmp_path, {"agent": block})
    assert settings.problems == () and settings.ais["agent"].cli.args == tuple(args)


def test_the_dialects_keep_the_key_variables_of_the_configuration() -> None:
    for cli, variables in CLI_KEY_VARS.items():
        assert dialect_for(cli).key_variables == variables
    assert CLI_KEY_VARS["codex"] == ("CODEX_API_KEY", "CODEX_ACCESS_TOKEN")
    assert CLI_KEY_VARS["gemini_cli"] == ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")


def test_harmless_args_pass() -> None:
    assert bypass_flags_in(["--effort", "low", "--permission-mode", "plan", "--sandbox", "read-only", "-s"]) == []


def test_a_command_not_on_path_leaves_the_ai_configured_but_unusable(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, {"claude": {"kind": "cli", "command": "claude"}}, path=str(tmp_path))
    ai = settings.ais["claude"]
    assert settings.problems == () and ai.cli is not None and ai.cli.path is None and not ai.usable


def test_the_env_values_named_like_credentials_are_masked_like_keys(tmp_path: Path) -> None:
    token = "sk-ant-api03-secret-token-0123456789"
    env = {"ANTHROPIC_API_KEY": token, "HOME": str(tmp_path / "home"), "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    block = {"kind": "cli", "command": "/bin/true", "cli": "claude_code", "env": env}
    settings = settings_for(tmp_path, {"claude": block})
    assert token in settings.secrets and token not in repr(settings.ais["claude"])
    assert str(tmp_path / "home") not in settings.secrets, "a HOME is no secret: masking it would hide paths"
