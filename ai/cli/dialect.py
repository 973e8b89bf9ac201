"""What a CLI agent's dialect knows: how to start it one-shot and read-only, and how to read its answer.

One module per CLI (`claude_code`, `codex`, `gemini_cli`) holds one `Dialect`, as its module-level `DIALECT`
(ai.cli.client.dialect_for finds it by the CLI's name); the runner (process group,
environment, deadline, cancel) is shared and knows nothing of any CLI's flags or output format. A dialect's
functions are pure: they build argument lists and parse bytes, so they are tested table-driven against the
CLIs' real output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CliAnswer", "Dialect"]


@dataclass(frozen=True, slots=True)
class CliAnswer:
    """A CLI's final answer as its machine-readable output reports it.

    Attributes:
        text: The final answer's text (untrusted, like any AI's text).
        session_id: The CLI's session, to resume in the next turn of a thread; None when it has none.
        model: The model the CLI says it used, when it says.
        input_tokens: Prompt tokens the CLI reports, or None when it does not.
        output_tokens: Answer tokens the CLI reports, or None when it does not.
        cost_usd: What the CLI says the call cost (Claude Code's `total_cost_usd`), or None: unknown, never 0.
    """

    text: str
    session_id: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class Dialect(Protocol):
    """One CLI's way of being run non-interactively and read-only.

    Attributes:
        name: "claude_code", "codex" or "gemini_cli" (the `"cli"` field of a configuration block).
        commands: The command names that mean this CLI ("claude"; "codex"; "gemini").
        login_fix: What the person runs to sign in ("claude login"), said by a sign-in error.
        key_variables: The environment variables that carry this CLI's own provider key
            (kept in its environment; every other AI's key variables are removed).
        cost_is_cumulative: The cost a resumed session reports is the whole session's so far (Claude Code's
            `total_cost_usd`), so the client subtracts what the session had cost before.
        tokens_are_cumulative: The tokens a resumed session reports are the whole session's so far (Codex's
            `turn.completed` usage), so the client subtracts what the session had used before.
    """

    name: str
    commands: tuple[str, ...]
    login_fix: str
    key_variables: tuple[str, ...]
    cost_is_cumulative: bool
    tokens_are_cumulative: bool

    def argv(
        self, command: str, prompt: str, *, model: str | None, session_id: str | None, extra_args: Sequence[str]
    ) -> list[str]:
        """The whole command line for one one-shot, read-only, machine-readable run (never a bypass, yolo or
        skip-permissions flag); `session_id` resumes that session when the CLI can. The prompt goes in the
        argument list unless `prompt_on_stdin` says otherwise."""
        ...

    def prompt_on_stdin(self) -> bool:
        """Whether the prompt is written to the CLI's standard input rather than passed as an argument."""
        ...

    def parse(self, stdout: bytes, stderr: bytes, returncode: int, *, ai: str, model: str) -> CliAnswer:
        """The answer in a finished run's output.

        Raises:
            AuthenticationFailed: The CLI is not signed in (its `fix` says what to run: `login_fix`).
            InvalidResponse: The output is not what this CLI writes (not JSON, no final answer).
            ProviderError: The CLI reported an error of its provider (mapped to the closest subclass).
        """
        ...

    def version_argv(self, command: str) -> list[str]:
        """The command line that prints the CLI's version without spending anything."""
        ...

    def signed_in_argv(self, command: str) -> list[str] | None:
        """A command line that says whether the CLI is signed in without spending anything, or None when
        the CLI has none (then status says "unknown")."""
        ...

    def signed_in(self, stdout: bytes, returncode: int) -> bool | None:
        """Whether the `signed_in_argv` run's output says the CLI is signed in; None when it cannot tell."""
        ...
