"""The Codex CLI and Gemini CLI dialects, table-driven: their command lines, and what they read from the CLIs' real
output (recorded by tests/ai/cli/record.py from Codex CLI 0.171.0 and Gemini CLI 0.61.0 against the loopback
stand-ins), plus outputs made up for the failures the stand-ins do not produce."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest

from ai.cli import codex, gemini_cli
from ai.cli.claude_code import DIALECT as CLAUDE_CODE
from ai.cli.codex import CODEX
from ai.cli.dialect import CliAnswer, Dialect
from ai.cli.gemini_cli import GEMINI_CLI, READ_ONLY_POLICY
from core.errors import (
    AuthenticationFailed,
    ConfigError,
    EmptyResponse,
    InvalidResponse,
    ProviderError,
    ProviderServerError,
    ProviderUnreachable,
    RateLimited,
)
from tests.ai.cli.record import recorded

ANSWER = "Four: the file says 2 + 2."
DIALECTS: dict[str, Dialect] = {"codex": CODEX, "gemini": GEMINI_CLI}


def parse(name: str) -> CliAnswer:
    run = recorded(name)
    dialect = DIALECTS[str(run["cli"])]
    stdout, stderr = str(run["stdout"]).encode(), str(run["stderr"]).encode()
    return dialect.parse(stdout, stderr, int(str(run["returncode"])), ai="member", model="m")


@pytest.mark.parametrize(
    ("name", "model", "input_tokens", "output_tokens"),
    [
        ("codex_answer", None, 21, 8),
        ("codex_tools", None, 63, 24),  # three requests in the turn (two tool results): the turn's sum
        ("codex_resumed", None, 42, 16),  # Codex counts the whole session on resume: both runs
        ("gemini_answer", "gemini-2.5-flash", 21, 8),
        ("gemini_tools", "gemini-2.5-flash", 63, 24),
        ("gemini_resumed", "gemini-2.5-flash", 21, 8),  # Gemini CLI counts this run only
    ],
)
def test_the_answer_tokens_and_session_are_read_from_a_real_run(
    name: str, model: str | None, input_tokens: int, output_tokens: int
) -> None:
    answer = parse(name)
    assert answer.text == ANSWER
    assert (answer.model, answer.input_tokens, answer.output_tokens) == (model, input_tokens, output_tokens)
    assert answer.cost_usd is None  # neither CLI reports a cost: unknown, never $0
    assert answer.session_id and len(answer.session_id) == 36


@pytest.mark.parametrize(
    ("name", "status", "fix"),
    [
        ("codex_not_signed_in", 401, "codex login"),
        ("codex_missing_key", None, "codex login"),
        ("gemini_not_signed_in", None, "sign in"),
        ("gemini_gateway_only", None, "sign in"),
        ("gemini_bad_key", 400, "GEMINI_API_KEY"),
        ("gemini_untrusted", None, "trust the project"),
    ],
)
def test_a_run_without_a_sign_in_is_an_authentication_error_that_says_what_to_run(
    name: str, status: int | None, fix: str
) -> None:
    with pytest.raises(AuthenticationFailed) as raised:
        parse(name)
    assert raised.value.status_code == status
    assert raised.value.fix is not None and fix in raised.value.fix
    assert fix in str(raised.value)


def _codex_events(*events: dict[str, Any]) -> bytes:
    started = {"type": "thread.started", "thread_id": "0193a2b4-0000-7000-8000-000000000000"}
    return b"\n".join(json.dumps(e).encode() for e in (started, {"type": "turn.started"}, *events))


def _failed(message: str) -> dict[str, Any]:
    return {"type": "turn.failed", "error": {"message": message}}


@pytest.mark.parametrize(
    ("stdout", "stderr", "returncode", "error"),
    [
        (b"", b"", 0, InvalidResponse),
        (b"", b"error: unexpected argument '--jsn' found", 2, ProviderError),
        (_codex_events({"type": "turn.completed", "usage": {}}), b"", 0, EmptyResponse),
        (_codex_events(_failed("unexpected status 429 Too Many Requests: slow down, url: x")), b"", 1, RateLimited),
        (_codex_events(_failed("unexpected status 503 Service Unavailable: busy")), b"", 1, ProviderServerError),
        (
            _codex_events({"type": "error", "message": "Reconnecting... 5/5 (error sending request)"}),
            b"",
            1,
            ProviderUnreachable,
        ),
    ],
)
def test_codex_failures_map_to_typed_errors(stdout: bytes, stderr: bytes, returncode: int, error: type) -> None:
    with pytest.raises(error):
        CODEX.parse(stdout, stderr, returncode, ai="codex", model="m")


def test_codex_token_counts_that_are_not_counts_are_unknown() -> None:
    answer = CODEX.parse(
        _codex_events(
            {"type": "item.completed", "item": {"type": "agent_message", "text": "hi"}},
            {"type": "turn.completed", "usage": {"input_tokens": -3, "output_tokens": "8"}},
        ),
        b"",
        0,
        ai="codex",
        model="m",
    )
    assert (answer.text, answer.input_tokens, answer.output_tokens, answer.cost_usd) == ("hi", None, None, None)


@pytest.mark.parametrize(
    ("stderr", "returncode", "error"),
    [
        (
            b'{"session_id": "s", "error": {"type": "Error", "message": "Internal error", "code": 500}}',
            244,
            ProviderServerError,
        ),
        (b"Warning: x\n" + b'{"error": {"message": "quota exceeded", "code": 429}}', 173, RateLimited),
        (b"Segmentation fault", 139, ProviderError),
    ],
)
def test_gemini_failures_map_to_typed_errors(stderr: bytes, returncode: int, error: type) -> None:
    with pytest.raises(error):
        GEMINI_CLI.parse(b"", stderr, returncode, ai="gemini", model="m")


def test_gemini_output_without_json_is_an_invalid_response() -> None:
    with pytest.raises(InvalidResponse):
        GEMINI_CLI.parse(b"The answer is 4", b"", 0, ai="gemini", model="m")
    with pytest.raises(EmptyResponse):
        GEMINI_CLI.parse(b'{"session_id": "s", "response": "  "}', b"", 0, ai="gemini", model="m")


# -- the command lines ----------------------------------------------------------------------------------------


def test_codex_runs_exec_with_json_in_the_read_only_sandbox_and_the_prompt_on_stdin() -> None:
    argv = CODEX.argv("codex", "Say hi", model="gpt-5", session_id=None, extra_args=["--profile", "work"])
    assert argv == [
        "codex", "exec", "--json", "--sandbox", "read-only", "-c", 'approval_policy="never"', "--skip-git-repo-check",
        "--color", "never", "--model", "gpt-5", "--profile", "work", "-",
    ]  # fmt: skip
    assert CODEX.prompt_on_stdin() and "Say hi" not in argv


def test_codex_resumes_a_session_with_the_exec_options_before_resume() -> None:
    argv = CODEX.argv("/opt/codex", "", model=None, session_id="0193a2b4-aaaa", extra_args=())
    assert argv[:2] == ["/opt/codex", "exec"] and argv[-3:] == ["resume", "0193a2b4-aaaa", "-"]
    assert argv.index("--sandbox") < argv.index("resume")


def test_gemini_runs_headless_with_json_in_plan_mode_and_the_prompt_on_stdin() -> None:
    argv = GEMINI_CLI.argv("gemini", "Say hi", model="gemini-2.5-pro", session_id="s-1", extra_args=["--skip-trust"])
    assert argv == [
        "gemini", "--output-format", "json", "--approval-mode", "plan", "--admin-policy", str(READ_ONLY_POLICY),
        "--model", "gemini-2.5-pro", "--skip-trust",
        "--resume", "s-1", "--prompt", "",
    ]  # fmt: skip
    assert GEMINI_CLI.prompt_on_stdin()


@pytest.mark.parametrize("dialect", [CODEX, GEMINI_CLI], ids=["codex", "gemini"])
def test_no_command_line_holds_a_bypass_or_yolo_flag(dialect: Dialect) -> None:
    argv = dialect.argv("cli", "p", model="m", session_id="s", extra_args=())
    flags = " ".join(argv).lower()
    for word in ("bypass", "yolo", "dangerously", "full-auto", "skip-permissions", "auto_edit", "workspace-write"):
        assert word not in flags


@pytest.mark.parametrize(
    ("dialect", "args", "named"),
    [
        (CODEX, ["--dangerously-bypass-approvals-and-sandbox"], "--dangerously-bypass-approvals-and-sandbox"),
        (CODEX, ["--sandbox", "workspace-write"], "--sandbox"),
        (CODEX, ["-s=danger-full-access"], "-s=danger-full-access"),
        (CODEX, ["--full-auto"], "--full-auto"),
        (CODEX, ["-c", 'sandbox_mode="danger-full-access"'], '-c sandbox_mode="danger-full-access"'),
        (CODEX, ["--config=approval_policy=on-request"], "--config=approval_policy=on-request"),
        (CODEX, ["-c", "sandbox_workspace_write.network_access=true"], "-c sandbox_workspace_write.network_access"),
        (GEMINI_CLI, ["--yolo"], "--yolo"),
        (GEMINI_CLI, ["-y"], "-y"),
        (GEMINI_CLI, ["--approval-mode=auto_edit"], "--approval-mode=auto_edit"),
        (GEMINI_CLI, ["--policy", "allow-shell.toml"], "--policy"),
        (GEMINI_CLI, ["--allowed-tools", "run_shell_command"], "--allowed-tools"),
        (CLAUDE_CODE, ["--tools", "Bash,Edit"], "--tools"),
        (CLAUDE_CODE, ["--permission-mode", "acceptEdits"], "--permission-mode acceptEdits"),
    ],
)
def test_args_that_would_lift_read_only_are_refused_at_call_time_too(
    dialect: Dialect, args: list[str], named: str
) -> None:
    with pytest.raises(ConfigError, match="the CLI runs read-only") as raised:
        dialect.argv("cli", "p", model=None, session_id=None, extra_args=args)
    assert f"{dialect.name}: args {named}" in str(raised.value)


def test_the_gemini_policy_denies_every_tool_but_those_that_only_read() -> None:
    rules = tomllib.loads(READ_ONLY_POLICY.read_text())["rule"]
    denied = [r for r in rules if r["decision"] == "deny"]
    allowed = {name for r in rules if r["decision"] == "allow" for name in r["toolName"]}
    assert [r["toolName"] for r in denied] == ["*"]
    assert all(r["priority"] > denied[0]["priority"] for r in rules if r["decision"] == "allow")
    assert "read_file" in allowed and not allowed & {"write_file", "replace", "run_shell_command", "exit_plan_mode"}


def test_each_dialect_module_names_its_dialect_dialect() -> None:
    assert (codex.DIALECT, gemini_cli.DIALECT) == (CODEX, GEMINI_CLI)


def test_each_dialect_says_how_to_sign_in_and_which_variables_are_its_own() -> None:
    assert (CODEX.name, CODEX.commands, CODEX.login_fix) == ("codex", ("codex",), "codex login")
    assert CODEX.key_variables == ("CODEX_API_KEY", "CODEX_ACCESS_TOKEN")
    assert CODEX.version_argv("codex") == ["codex", "--version"]
    assert CODEX.signed_in_argv("codex") == ["codex", "login", "status"]
    assert (GEMINI_CLI.name, GEMINI_CLI.commands) == ("gemini_cli", ("gemini",))
    assert "GEMINI_API_KEY" in GEMINI_CLI.key_variables and "sign in" in GEMINI_CLI.login_fix
    assert GEMINI_CLI.version_argv("gemini") == ["gemini", "--version"]
    assert GEMINI_CLI.signed_in_argv("gemini") is None  # no command tells without sending a prompt


@pytest.mark.parametrize(
    ("dialect", "returncode", "signed_in"),
    [
        (CODEX, 0, True),  # "Logged in using ChatGPT" / "API key configured" (on stderr)
        (CODEX, 1, False),  # "Not logged in"
        (CODEX, 2, None),  # a crash, a bad config.toml: unknown
        (GEMINI_CLI, 0, None),  # no sign-in command to read
    ],
)
def test_the_sign_in_state_is_read_from_the_clis_own_status_command(
    dialect: Dialect, returncode: int, signed_in: bool | None
) -> None:
    assert dialect.signed_in(b"", returncode) is signed_in
    assert (dialect.cost_is_cumulative, dialect.tokens_are_cumulative) == (False, dialect is CODEX)
