"""Google's Gemini CLI as an AI: `gemini -p --output-format json`, one-shot, read-only.

    gemini --output-format json --approval-mode plan --admin-policy <ai/cli/gemini_read_only.toml>
           [--model MODEL] [ARGS...] [--resume SESSION_ID] --prompt ""

What Gemini CLI 0.61 does, as its `--help` and bundled docs (docs/cli/headless.md, plan-mode.md, trusted-folders.md,
session-management.md) say and its runs show (docs/configuration.md, "CLI agents as AIs"):
- `--approval-mode plan` is its "read-only mode": only reading tools (read_file, list_directory, glob, grep_search,
  web search) run; write_file and replace only for plans under ~/.gemini/tmp, anything else is refused ("Access
  denied: plan path ... must be within the designated plans directory"); run_shell_command is not offered. In
  headless mode a tool that would ask for approval is denied, never asked. No yolo, no auto-edit.
- Plan mode alone does not hold: a headless model may call `exit_plan_mode`, which answers "Plan approved.
  Switching to YOLO mode (all tool calls auto-approved)" with nobody asked, and then write files and run commands
  (from the default mode too, by way of `enter_plan_mode`). So an admin-tier policy (`--admin-policy`, above the
  person's own policies) denies every tool but those that only read: the others are not even offered, and a call
  to one is "not found". (Gemini CLI ignores `--admin-policy` when /etc/gemini-cli/policies holds .toml files:
  then that system policy governs.)
- The prompt is read from stdin: `-p ""` runs headless and appends stdin to the (empty) prompt, so that a long
  prompt is not cut by the kernel's limit on one argument, nor shown in the process list.
- `--output-format json` prints one object: `session_id`, `response` (the answer), `stats.models.<model>.tokens`
  (`prompt`, `candidates`, per model, this run only; `roles.main` marks the model that answered). No cost.
  A failure is an object with `error` (`message`, `code`) on stderr; exit 41 means no sign-in (no auth method),
  a rejected key comes back as the API's own error (400 "API key not valid").
- `--resume <session id>` continues a session of this project.
- Headless runs need the project folder trusted: an untrusted one exits 55 ("not running in a trusted
  directory"); trusting it is the person's choice (`gemini` once in the project, or `--skip-trust` in args).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai.clean import plain, token_count
from ai.cli.dialect import CliAnswer
from ai.cli.failures import cli_failure, output_tail
from core.config.cli import CLI_KEY_VARS, refuse_bypass
from core.errors import EmptyResponse, InvalidResponse

__all__ = ["DIALECT", "GEMINI_CLI", "READ_ONLY_POLICY", "GeminiCliDialect"]

LOGIN_FIX = "run `gemini` once and sign in (Login with Google), or set GEMINI_API_KEY"
TRUST_FIX = "trust the project in Gemini CLI (run `gemini` in it once and choose to trust the folder)"
READ_ONLY_POLICY = Path(__file__).with_name("gemini_read_only.toml")
UNTRUSTED_EXIT = 55  # FatalUntrustedWorkspaceError
AUTH_EXIT = 41  # FATAL_AUTHENTICATION_ERROR
STDERR_READ_BYTES = 65_536  # of stderr's end, searched for the error object (after warnings and stack traces)


@dataclass(frozen=True, slots=True)
class GeminiCliDialect:
    """The `Dialect` of Google's Gemini CLI (see the module's docstring)."""

    name: str = "gemini_cli"
    commands: tuple[str, ...] = ("gemini",)
    login_fix: str = LOGIN_FIX
    key_variables: tuple[str, ...] = CLI_KEY_VARS["gemini_cli"]
    cost_is_cumulative: bool = False  # it reports no cost
    tokens_are_cumulative: bool = False  # `stats` count this run only, resumed or not

    def argv(
        self, command: str, prompt: str, *, model: str | None, session_id: str | None, extra_args: Sequence[str]
    ) -> list[str]:
        """The headless `gemini` command line; the prompt goes to stdin.

        Raises:
            ConfigError: `extra_args` holds a flag that would lift plan mode (core.config.cli.REFUSED_FLAGS).
        """
        refuse_bypass(self.name, extra_args)  # refused when the settings were read too
        argv = [command, "--output-format", "json", "--approval-mode", "plan", "--admin-policy", str(READ_ONLY_POLICY)]
        if model:
            argv += ["--model", model]
        argv += extra_args
        if session_id:
            argv += ["--resume", session_id]
        return [*argv, "--prompt", ""]

    def prompt_on_stdin(self) -> bool:
        return True

    def parse(self, stdout: bytes, stderr: bytes, returncode: int, *, ai: str, model: str) -> CliAnswer:
        """The answer in a headless run's JSON object.

        Raises:
            AuthenticationFailed: No sign-in, a rejected key (fix: `LOGIN_FIX`), or an untrusted project folder.
            InvalidResponse: The output holds no JSON object.
            EmptyResponse: The answer is empty.
            ProviderError: The CLI reported its provider's error (the class by its status).
        """
        result = _object(stdout) or _object(stderr[-STDERR_READ_BYTES:])
        if result is None or ("response" not in result and "error" not in result):
            tail = output_tail(stderr)
            if returncode == UNTRUSTED_EXIT or "trusted directory" in tail:
                reason = "Gemini CLI does not run headless in a folder that is not trusted"
                raise cli_failure(ai, model, reason, login_fix=TRUST_FIX, signed_out=True)
            if returncode == 0:
                raise InvalidResponse(ai, model, "gemini --output-format json wrote no JSON object")
            raise cli_failure(ai, model, tail or f"gemini exited with status {returncode}", login_fix=LOGIN_FIX)
        error = result.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            code = error.get("code") if isinstance(error, dict) else None
            status = code if type(code) is int and 100 <= code <= 599 else None
            reason = message if isinstance(message, str) and message.strip() else "gemini reported an error"
            signed_out = returncode == AUTH_EXIT or code == AUTH_EXIT
            raise cli_failure(ai, model, reason, login_fix=LOGIN_FIX, status=status, signed_out=signed_out)
        text = result.get("response")
        if not isinstance(text, str) or not text.strip():
            raise EmptyResponse(ai, model, "gemini finished without an answer")
        session = result.get("session_id")
        used, input_tokens, output_tokens = _usage(result.get("stats"))
        return CliAnswer(
            text=text,
            session_id=session if isinstance(session, str) and plain(session) else None,
            model=used,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def version_argv(self, command: str) -> list[str]:
        return [command, "--version"]

    def signed_in_argv(self, command: str) -> list[str] | None:
        """None: Gemini CLI has no command that tells without sending a prompt."""
        return None

    def signed_in(self, stdout: bytes, returncode: int) -> bool | None:
        """Unknown: there is no sign-in command to read (`signed_in_argv` is None)."""
        return None


GEMINI_CLI = GeminiCliDialect()
DIALECT = GEMINI_CLI  # the name every dialect module gives its dialect (ai.cli.client.dialect_for)


def _object(data: bytes) -> dict[str, Any] | None:
    """The run's JSON object: the whole output, else the last one that starts a line (stderr holds warnings,
    stack traces and then the error object)."""
    text = data.decode("utf-8", errors="replace").strip()
    starts = [0] + [i + 1 for i in range(len(text) - 1) if text[i] == "\n" and text[i + 1] == "{"]
    for start in reversed(starts):
        try:
            value = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _usage(stats: Any) -> tuple[str | None, int | None, int | None]:
    """(the model that answered, prompt tokens, answer tokens) from `stats.models`, summed over its models."""
    models = stats.get("models") if isinstance(stats, dict) else None
    if not isinstance(models, dict) or not models:
        return None, None, None
    entries = [(name, entry) for name, entry in models.items() if isinstance(entry, dict)]
    main = next((name for name, entry in entries if "main" in (entry.get("roles") or {})), None)
    counts: list[dict[str, Any]] = [entry["tokens"] for _, entry in entries if isinstance(entry.get("tokens"), dict)]
    prompts = [token_count(c.get("prompt", c.get("input"))) for c in counts]
    answers = [token_count(c.get("candidates")) for c in counts]
    used = plain(main or (entries[0][0] if len(entries) == 1 else None))
    return (
        used,
        sum(p for p in prompts if p is not None) if any(p is not None for p in prompts) else None,
        sum(a for a in answers if a is not None) if any(a is not None for a in answers) else None,
    )
