"""OpenAI's Codex CLI as an AI: `codex exec --json`, one-shot, in its read-only sandbox.

    codex exec --json --sandbox read-only -c approval_policy="never" --skip-git-repo-check --color never
          [-m MODEL] [ARGS...] [resume SESSION_ID] -

What Codex 0.171 does, as its `codex exec --help` and docs say and its runs show (docs/configuration.md, "CLI agents
as AIs"):
- `--sandbox read-only`: commands the model runs may read files, never write ("Read-only file system") or reach
  the network; `approval_policy="never"` (exec's own default, said again so that no config.toml changes it) refuses
  any request to run outside the sandbox at once. `--skip-git-repo-check`: the project need not be a git
  repository (the check guards writes, which the sandbox forbids anyway).
- The prompt is read from stdin (`-`), so that a long one (files attached) is not cut by the kernel's limit on
  one argument, nor shown in the process list.
- `--json` prints one event a line: `thread.started` (the session: `thread_id`), `item.completed` items (the
  answer: `agent_message`), `turn.completed` with `usage` (`input_tokens`, `output_tokens`) or `turn.failed` with
  `error.message`. No cost and no model name are reported. A resumed session's `usage` counts the whole session
  (every earlier run too), not this run alone.
- `exec resume <id>` continues a session; the exec options go before `resume` (it takes no `--sandbox` itself).
- Not signed in: the provider answers 401 and Codex says "unexpected status 401 Unauthorized" in `turn.failed`;
  a model provider whose `env_key` variable is unset says "Missing environment variable".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ai.clean import token_count
from ai.cli.dialect import CliAnswer
from ai.cli.failures import cli_failure, output_tail
from core.config.cli import CLI_KEY_VARS, refuse_bypass
from core.errors import EmptyResponse, InvalidResponse, ProviderError

__all__ = ["CODEX", "DIALECT", "CodexDialect"]

LOGIN_FIX = "codex login"


@dataclass(frozen=True, slots=True)
class CodexDialect:
    """The `Dialect` of OpenAI's Codex CLI (see the module's docstring)."""

    name: str = "codex"
    commands: tuple[str, ...] = ("codex",)
    login_fix: str = LOGIN_FIX
    key_variables: tuple[str, ...] = CLI_KEY_VARS["codex"]
    cost_is_cumulative: bool = False  # it reports no cost
    tokens_are_cumulative: bool = True  # a resumed session's usage counts every earlier run too (42/16 after 21/8)

    def argv(
        self, command: str, prompt: str, *, model: str | None, session_id: str | None, extra_args: Sequence[str]
    ) -> list[str]:
        """The `codex exec` command line; the prompt goes to stdin (`-`).

        Raises:
            ConfigError: `extra_args` holds a flag or setting that would lift the read-only sandbox
                (core.config.cli.REFUSED_FLAGS, CODEX_REFUSED_SETTINGS).
        """
        refuse_bypass(self.name, extra_args)  # refused when the settings were read too
        argv = [command, "exec", "--json", "--sandbox", "read-only", "-c", 'approval_policy="never"']
        argv += ["--skip-git-repo-check", "--color", "never"]
        if model:
            argv += ["--model", model]
        argv += extra_args
        if session_id:
            argv += ["resume", session_id]
        return [*argv, "-"]

    def prompt_on_stdin(self) -> bool:
        return True

    def parse(self, stdout: bytes, stderr: bytes, returncode: int, *, ai: str, model: str) -> CliAnswer:
        """The answer in a `codex exec --json` run's events.

        Raises:
            AuthenticationFailed: Not signed in, or the key is wrong or missing (fix: `codex login`).
            InvalidResponse: No events at all, or none that ends the turn.
            EmptyResponse: The turn completed without an answer.
            ProviderError: The turn failed (the class by the status Codex quotes).
        """
        events = _events(stdout)
        session = next((e["thread_id"] for e in events if e.get("type") == "thread.started"), None)
        failed = next((e for e in reversed(events) if e.get("type") == "turn.failed"), None)
        if failed is not None:
            raise _failure(_message(failed.get("error")) or "the turn failed", ai, model)
        done = next((e for e in reversed(events) if e.get("type") == "turn.completed"), None)
        if done is None:
            errors = [m for e in events if e.get("type") == "error" and (m := _message(e))]
            reason = errors[-1] if errors else output_tail(stderr) or f"codex exited with status {returncode}"
            if not events and returncode == 0:
                raise InvalidResponse(ai, model, "codex exec --json wrote no events")
            raise _failure(reason, ai, model)
        texts = [
            item["text"]
            for e in events
            if e.get("type") == "item.completed"
            and isinstance(item := e.get("item"), dict)
            and item.get("type") == "agent_message"
            and isinstance(item.get("text"), str)
        ]
        if not texts or not texts[-1].strip():
            raise EmptyResponse(ai, model, "codex finished its turn without an answer")
        usage = done.get("usage") if isinstance(done.get("usage"), dict) else {}
        return CliAnswer(
            text=texts[-1],
            session_id=session if isinstance(session, str) and session else None,
            input_tokens=token_count(usage.get("input_tokens")),
            output_tokens=token_count(usage.get("output_tokens")),
        )

    def version_argv(self, command: str) -> list[str]:
        return [command, "--version"]

    def signed_in_argv(self, command: str) -> list[str] | None:
        """`codex login status`: exit 0 and "Logged in using ..." when signed in, 1 and "Not logged in" else."""
        return [command, "login", "status"]

    def signed_in(self, stdout: bytes, returncode: int) -> bool | None:
        """What `codex login status` says by its exit status: 0 signed in ("Logged in using ChatGPT", "API key
        configured"), 1 not ("Not logged in"); Codex writes those words to stderr, so the status is what is read.
        Anything else (a crash, a bad config.toml) is unknown."""
        return {0: True, 1: False}.get(returncode)


CODEX = CodexDialect()
DIALECT = CODEX  # the name every dialect module gives its dialect (ai.cli.client.dialect_for)


def _events(stdout: bytes) -> list[dict[str, Any]]:
    """The JSON objects among the output's lines (anything else, such as a warning, is skipped)."""
    events: list[dict[str, Any]] = []
    for line in stdout.decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _message(value: Any) -> str | None:
    message = value.get("message") if isinstance(value, dict) else None
    return message if isinstance(message, str) and message.strip() else None


def _failure(reason: str, ai: str, model: str) -> ProviderError:
    signed_out = any(sign in reason for sign in ("Missing environment variable", "Not logged in", "codex login"))
    return cli_failure(ai, model, reason, login_fix=LOGIN_FIX, signed_out=signed_out)
