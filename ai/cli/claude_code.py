"""Claude Code (`claude`, npm @anthropic-ai/claude-code) as a CLI AI: one-shot, read-only, JSON out.

From `claude --help` (2.1.337): `-p` prints the answer and exits (the prompt read from stdin when no prompt
argument is given), `--output-format json` ends with one JSON object (`result`, `session_id`,
`total_cost_usd`, `usage`, `is_error`), `--permission-mode plan` lets it read and plan but change nothing,
`--tools` limits the built-in tools it has at all, `--allowedTools` / `--disallowedTools` which it may use
without asking / never, `--strict-mcp-config` with no `--mcp-config` loads no MCP server (not the user's,
not this one: no agent calling back into us), `--resume <id>` continues a session, `claude auth status`
says whether it is signed in without spending. No bypass flag is ever passed (as root it refuses them anyway).

A run that is not signed in ends with `is_error: true`, `api_error: "no_credential"` and the text
"Not logged in · Please run /login": an AuthenticationFailed whose fix is `claude login`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from ai.cli.dialect import CliAnswer
from core.config.cli import CLI_KEY_VARS, refuse_bypass
from core.errors import (
    AuthenticationFailed,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderServerError,
    RateLimited,
)

__all__ = ["DIALECT", "DISALLOWED_TOOLS", "READ_ONLY_TOOLS", "ClaudeCode"]

# The built-in tools it has: reading and searching the project, nothing that writes, runs or fetches.
READ_ONLY_TOOLS = ("Read", "Grep", "Glob")
DISALLOWED_TOOLS = ("Bash", "Edit", "Write", "MultiEdit", "NotebookEdit", "WebFetch", "WebSearch", "Task")
# What a run that is not signed in (or whose key is refused) says, in its result or on stderr.
_LOGIN_SIGNS = ("not logged in", "/login", "invalid api key", "no_credential", "authentication_error", "oauth token")
_ERROR_TEXT_CHARS = 500


class ClaudeCode:
    """Claude Code's dialect (ai.cli.dialect.Dialect)."""

    name = "claude_code"
    commands = ("claude",)
    login_fix = "claude login (or `claude setup-token`; or set ANTHROPIC_API_KEY in the AI's env)"
    key_variables = CLI_KEY_VARS["claude_code"]
    cost_is_cumulative = True  # a resumed session's total_cost_usd counts its earlier runs too
    tokens_are_cumulative = False  # its `usage` is this run's

    def argv(
        self, command: str, prompt: str, *, model: str | None, session_id: str | None, extra_args: Sequence[str]
    ) -> list[str]:
        refuse_bypass(self.name, extra_args)  # refused when the settings were read too
        argv = [
            command,
            "-p",
            "--output-format",
            "json",
            "--permission-mode",
            "plan",
            "--tools",
            ",".join(READ_ONLY_TOOLS),
            "--allowedTools",
            ",".join(READ_ONLY_TOOLS),
            "--disallowedTools",
            ",".join(DISALLOWED_TOOLS),
            "--strict-mcp-config",
        ]
        if model:
            argv += ["--model", model]
        if session_id:
            argv += ["--resume", session_id]
        return [*argv, *extra_args]  # the prompt goes on stdin: no argument-length limit, no flag lookalike

    def prompt_on_stdin(self) -> bool:
        return True

    def parse(self, stdout: bytes, stderr: bytes, returncode: int, *, ai: str, model: str) -> CliAnswer:
        result = _result_object(stdout)
        if result is None:
            said = _said(stderr) or _said(stdout) or f"exit status {returncode}, no output"
            if _login_wanted(said):
                raise AuthenticationFailed(ai, model, f"Claude Code is not signed in ({said})").with_fix(self.login_fix)
            raise InvalidResponse(ai, model, f"Claude Code wrote no JSON result ({said})")
        text = result.get("result")
        if result.get("is_error") or returncode != 0 or result.get("subtype") not in (None, "success"):
            raise _error(result, ai, model, self.login_fix)
        if not isinstance(text, str):
            raise InvalidResponse(ai, model, "Claude Code's JSON result has no text")
        input_tokens, output_tokens = _tokens(result.get("usage"))
        return CliAnswer(
            text=text,
            session_id=_str_or_none(result.get("session_id")),
            model=_model(result.get("modelUsage")),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=_cost(result.get("total_cost_usd"), input_tokens, output_tokens),
        )

    def version_argv(self, command: str) -> list[str]:
        return [command, "--version"]

    def signed_in_argv(self, command: str) -> list[str] | None:
        return [command, "auth", "status", "--json"]

    def signed_in(self, stdout: bytes, returncode: int) -> bool | None:
        try:
            status = json.loads(stdout)
        except ValueError:
            return None
        logged_in = status.get("loggedIn") if isinstance(status, dict) else None
        return logged_in if isinstance(logged_in, bool) else None


DIALECT = ClaudeCode()


def _result_object(stdout: bytes) -> dict[str, Any] | None:
    """The `{"type": "result", ...}` object: the whole output, or its last JSON line."""
    for text in (stdout, *reversed(stdout.splitlines())):
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("type") == "result":
            return value
    return None


def _error(result: dict[str, Any], ai: str, model: str, login_fix: str) -> ProviderError:
    said = _said(str(result.get("result") or result.get("subtype") or "").encode())
    api_error = str(result.get("api_error") or "")
    status = result.get("api_error_status")
    status = status if isinstance(status, int) else None
    if _login_wanted(f"{said} {api_error}") or status in (401, 403):
        return AuthenticationFailed(ai, model, f"Claude Code is not signed in ({said})", status).with_fix(login_fix)
    if status == 429 or "rate_limit" in api_error:
        return RateLimited(ai, model, f"Claude Code: {said}", status)
    if status == 404 or "not_found" in api_error:
        return ModelNotFound(ai, model, f"Claude Code: {said}", status)
    if status is not None and status >= 500:
        return ProviderServerError(ai, model, f"Claude Code: {said}", status)
    return ProviderError(ai, model, f"Claude Code reported an error: {said}", status)


def _login_wanted(text: str) -> bool:
    lowered = text.lower()
    return any(sign in lowered for sign in _LOGIN_SIGNS)


def _said(output: bytes) -> str:
    """The last lines of some output, shortened: what an error quotes (the client masks keys in it)."""
    text = output.decode("utf-8", "replace").strip()
    return text[-_ERROR_TEXT_CHARS:]


def _tokens(usage: object) -> tuple[int | None, int | None]:
    """Input tokens (cache reads and writes included, as they are billed) and output tokens."""
    if not isinstance(usage, dict):
        return None, None
    counts = {key: value for key, value in usage.items() if isinstance(value, int) and value >= 0}
    parts = [counts.get(key) for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")]
    found = [part for part in parts if part is not None]
    return (sum(found) if found else None), counts.get("output_tokens")


def _cost(value: object, input_tokens: int | None, output_tokens: int | None) -> float | None:
    """`total_cost_usd` when it is a real figure; 0 for a run that used tokens is not one (unknown, never $0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    if value == 0 and (input_tokens or output_tokens):
        return None
    return float(value)


def _model(usage: object) -> str | None:
    """The model the run used most, from `modelUsage` (model id → its counts)."""
    if not isinstance(usage, dict) or not usage:
        return None
    return str(next(iter(usage)))[:200]


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
