"""Claude Code's dialect, table-driven against what Claude Code 2.1.337 really prints (`-p --output-format
json`, trimmed to the fields read): its answer, its session and cost; signed out, rate-limited, not JSON; and
the command line, read-only whatever is asked of it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ai.cli.claude_code import DIALECT, DISALLOWED_TOOLS
from ai.cli.dialect import CliAnswer
from core.config.cli import BYPASS_FLAGS, bypass_flags_in
from core.errors import AuthenticationFailed, InvalidResponse, ProviderError, RateLimited
from tests.fakes.cli import LOGIN_OUTPUT

# `claude -p --output-format json` against the scripted Messages API (tests/fakes/messages_api.py), trimmed.
ANSWERED: dict[str, Any] = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "result": "Use SQLite.",
    "session_id": "483cf9a7-26a2-4c6d-adcc-03f20c76e0fa",
    "total_cost_usd": 0.00014000000000000001,
    "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 5},
    "modelUsage": {"claude-opus-5-5": {"inputTokens": 10, "outputTokens": 5, "costUSD": 0.00014000000000000001}},
    "api_error_status": None,
    "terminal_reason": "completed",
}


def parse(output: dict[str, Any] | bytes, returncode: int = 0, stderr: bytes = b"") -> CliAnswer:
    stdout = output if isinstance(output, bytes) else json.dumps(output).encode()
    return DIALECT.parse(stdout, stderr, returncode, ai="claude", model="default")


def test_an_answer_with_its_session_tokens_and_cost() -> None:
    assert parse(ANSWERED) == CliAnswer(
        text="Use SQLite.",
        session_id="483cf9a7-26a2-4c6d-adcc-03f20c76e0fa",
        model="claude-opus-5-5",
        input_tokens=10,
        output_tokens=5,
        cost_usd=0.00014000000000000001,
    )


@pytest.mark.parametrize(
    ("cost", "tokens", "expected"),
    [(0, 5, None), (0, 0, 0.0), (None, 5, None), ("0.1", 5, None), (-1, 5, None), (float("nan"), 5, None)],
)
def test_a_cost_that_is_not_a_real_figure_is_unknown_never_zero(
    cost: object, tokens: int, expected: float | None
) -> None:
    usage = {"input_tokens": tokens, "output_tokens": tokens}
    assert parse({**ANSWERED, "total_cost_usd": cost, "usage": usage}).cost_usd == expected


def test_the_result_line_is_found_after_other_lines() -> None:
    stdout = b'{"type": "system", "subtype": "init"}\n' + json.dumps(ANSWERED).encode() + b"\n"
    assert parse(stdout).text == "Use SQLite."


@pytest.mark.parametrize(
    ("output", "returncode", "stderr", "error", "said"),
    [
        (LOGIN_OUTPUT, 1, b"", AuthenticationFailed, "Not logged in"),
        (b"", 1, b"Invalid API key \xc2\xb7 Please run /login", AuthenticationFailed, "Invalid API key"),
        (
            {**ANSWERED, "is_error": True, "api_error_status": 429, "result": "Rate limited"},
            1,
            b"",
            RateLimited,
            "Rate limited",
        ),
        (
            {**ANSWERED, "is_error": True, "api_error_status": 401, "result": "API Error: 401"},
            1,
            b"",
            AuthenticationFailed,
            "not signed in (API Error: 401)",
        ),
        ({**ANSWERED, "subtype": "error_max_turns", "result": None}, 1, b"", ProviderError, "error_max_turns"),
        (b"Segmentation fault", 139, b"", InvalidResponse, "no JSON result (Segmentation fault)"),
        (b"", 1, b"", InvalidResponse, "exit status 1, no output"),
    ],
)
def test_a_failed_run_is_a_typed_error_saying_what_it_said(
    output: dict[str, Any] | bytes, returncode: int, stderr: bytes, error: type[ProviderError], said: str
) -> None:
    with pytest.raises(error, match=re.escape(said)) as raised:
        parse(output, returncode, stderr)
    if error is AuthenticationFailed:
        assert raised.value.fix is not None and raised.value.fix.startswith("claude login")


@pytest.mark.parametrize("session", [None, "483cf9a7"])
@pytest.mark.parametrize("model", [None, "sonnet"])
def test_the_command_line_is_one_shot_json_read_only_and_never_a_bypass(session: str | None, model: str | None) -> None:
    argv = DIALECT.argv(
        "/bin/claude", "ignored: on stdin", model=model, session_id=session, extra_args=["--effort", "low"]
    )
    assert argv[:4] == ["/bin/claude", "-p", "--output-format", "json"] and argv[-2:] == ["--effort", "low"]
    assert argv[argv.index("--permission-mode") + 1] == "plan" and "--strict-mcp-config" in argv
    assert argv[argv.index("--tools") + 1] == "Read,Grep,Glob" == argv[argv.index("--allowedTools") + 1]
    assert argv[argv.index("--disallowedTools") + 1] == ",".join(DISALLOWED_TOOLS)
    assert not bypass_flags_in(argv) and not set(argv) & BYPASS_FLAGS
    assert ("--resume" in argv) == (session is not None) and ("--model" in argv) == (model is not None)
    assert DIALECT.prompt_on_stdin() and "ignored: on stdin" not in argv


@pytest.mark.parametrize(
    ("stdout", "signed_in"),
    [(b'{"loggedIn": true, "authMethod": "api_key"}', True), (b'{"loggedIn": false}', False), (b"oops", None)],
)
def test_sign_in_as_claude_auth_status_says(stdout: bytes, signed_in: bool | None) -> None:
    assert DIALECT.signed_in_argv("claude") == ["claude", "auth", "status", "--json"]
    assert DIALECT.signed_in(stdout, 0) is signed_in
