"""A CLI agent as an AI: which CLIs we know, how a `"kind": "cli"` block is read, and the flags it may not carry.

    {"claude": {"kind": "cli", "command": "claude", "model": "sonnet", "timeout": 120, "max_concurrency": 2}}

The CLI is recognised from the command's base name (`claude`, `codex`, `gemini`) or, for a wrapper with
another name, from the block's `"cli"` field. A bare command name is looked up on PATH when the settings are
read: one that is not there leaves the AI configured but unusable (server_status says "not found on PATH");
a relative path with a slash in it is a problem (whose directory would it be relative to?). `"args"` are
passed on after ours, but never one that lifts the CLI's permissions (`BYPASS_FLAGS`, and each CLI's own
`REFUSED_FLAGS`: Codex's `--sandbox` and `-c sandbox_mode=...`, Gemini CLI's `--approval-mode` and `--policy`,
Claude Code's `--tools` and `--settings`): the CLI runs read-only, and a block that asks otherwise is a problem
when the settings are read. `"env"` adds variables to its environment (a provider URL, a key for a CLI signed in
by key); the values of those named like credentials (`ANTHROPIC_API_KEY`, `*_TOKEN`, ...) are masked like the API keys.
A CLI AI needs no API key of ours.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from core.errors import ConfigError

__all__ = [
    "BYPASS_FLAGS",
    "CLI_COMMANDS",
    "CLI_DEFAULT_ATTEMPTS",
    "CLI_DEFAULT_CONCURRENCY",
    "CLI_DEFAULT_CONTEXT_TOKENS",
    "CLI_DEFAULT_TIMEOUT_S",
    "CLI_FIELDS",
    "CLI_KEY_VARS",
    "CLI_MODEL_DEFAULT",
    "CODEX_REFUSED_SETTINGS",
    "REFUSED_FLAGS",
    "CliName",
    "CliSettings",
    "bypass_flags_in",
    "cli_settings",
    "read_only_refusal",
    "refuse_bypass",
]

CliName = Literal["claude_code", "codex", "gemini_cli"]
# The command names that mean each CLI (a wrapper with another name says which with "cli").
CLI_COMMANDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"claude_code": ("claude",), "codex": ("codex",), "gemini_cli": ("gemini",)}
)
# The variables that carry each CLI's own provider key: kept in its environment, removed from every other's.
CLI_KEY_VARS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "claude_code": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"),
        # `codex exec` reads CODEX_API_KEY (a ChatGPT sign-in lives in ~/.codex, not the environment)
        "codex": ("CODEX_API_KEY", "CODEX_ACCESS_TOKEN"),
        # a Gemini API key, or Vertex AI's (a Google sign-in lives in ~/.gemini)
        "gemini_cli": ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"),
    }
)
CLI_FIELDS = frozenset(
    {
        "kind",
        "command",
        "cli",
        "model",
        "args",
        "env",
        "timeout",
        "max_concurrency",
        "enabled",
        "prices",
        "context_tokens",
    }
)
CLI_MODEL_DEFAULT = "default"  # no "model" in the block: the CLI's own choice, and no --model flag
CLI_DEFAULT_TIMEOUT_S = 300.0  # an agent reads files before it answers: the call's deadline is the usual limit
CLI_DEFAULT_CONCURRENCY = 2  # each run is a process (Node, hundreds of MB): two at a time unless told
# What threads and files are fitted to: the agents' models take 200k tokens or more (per AI: "context_tokens").
CLI_DEFAULT_CONTEXT_TOKENS = 200_000
CLI_DEFAULT_ATTEMPTS = 1  # a failed run is not retried: it may have spent, and a login error stays one

# Flags that would let the agent act without asking (edit, run commands): never passed, whatever "args" say.
BYPASS_FLAGS = frozenset(
    {
        "--dangerously-skip-permissions",
        "--allow-dangerously-skip-permissions",
        "--dangerously-bypass-approvals-and-sandbox",
        "--yolo",
        "-y",
        "--full-auto",
    }
)
# Flags whose value may lift the permissions: the values refused (any other value passes).
_BYPASS_VALUES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "--permission-mode": frozenset({"bypasspermissions", "acceptedits", "auto", "dontask"}),
        "--approval-mode": frozenset({"yolo", "auto_edit", "auto-edit"}),
        "--sandbox": frozenset({"danger-full-access", "workspace-write"}),
        "-s": frozenset({"danger-full-access", "workspace-write"}),
        "--ask-for-approval": frozenset({"never"}),
        "-a": frozenset({"never"}),
    }
)
# Per CLI, flags refused whatever their value: they would override what its dialect sets (the tools it has, its
# sandbox, its approval mode and policy), widen what it may touch, or make the run interactive.
REFUSED_FLAGS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "claude_code": frozenset(
            {
                "--tools",
                "--allowedTools",
                "--allowed-tools",
                "--disallowedTools",
                "--disallowed-tools",
                "--settings",
                "--mcp-config",
                "--agents",
                "--agent",
                "--plugin-dir",
                "--plugin-url",
                "--permission-prompt-tool",
                "-w",
                "--worktree",
            }
        ),
        "codex": frozenset(
            {
                "--dangerously-bypass-hook-trust",
                "--approve-for-me",
                "--add-dir",
                "--sandbox",
                "-s",
                "--ask-for-approval",
                "-a",
            }
        ),
        "gemini_cli": frozenset(
            {
                "--approval-mode",
                "--allowed-tools",
                "--policy",
                "--admin-policy",
                "-i",
                "--prompt-interactive",
                "--acp",
                "--experimental-acp",
                "-p",
                "--prompt",
            }
        ),
    }
)
# Codex's `-c key=value` (`--config`) settings refused, by the key's first dotted part: the sandbox and approvals.
CODEX_REFUSED_SETTINGS = frozenset(
    {"sandbox_mode", "approval_policy", "sandbox_workspace_write", "default_permissions", "permissions"}
)
# What each CLI's refusal offers instead.
_ALLOWED_EXAMPLES: Mapping[str, str] = MappingProxyType(
    {
        "claude_code": "--effort low, --add-dir DIR",
        "codex": "-c model_provider=..., --profile NAME, --enable FEATURE",
        "gemini_cli": "--skip-trust, --include-directories DIR, -e NAME",
    }
)


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL|COOKIE", re.IGNORECASE)


class CliSettings(BaseModel):
    """How one CLI AI is started.

    Attributes:
        cli: Which CLI it is ("claude_code", "codex", "gemini_cli").
        command: The command as configured ("claude", or an absolute path).
        path: The executable found for it (absolute), or None when the command is not on PATH.
        args: Extra arguments, after ours (never a bypass flag).
        env: Variables added to its environment (secrets: masked like keys).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cli: CliName
    command: str = Field(min_length=1, max_length=4096)
    path: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, SecretStr] = Field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether the executable was found (on PATH, or at the absolute path given)."""
        return self.path is not None

    @property
    def secrets(self) -> list[str]:
        """The `env` values that are credentials by their name (`*_API_KEY`, `*_TOKEN`, ...), to mask
        wherever they would appear; a HOME or a URL is not one (masking it would hide paths everywhere)."""
        return [value.get_secret_value() for key, value in self.env.items() if _SECRET_NAME.search(key)]


def bypass_flags_in(args: Sequence[str], cli: str | None = None) -> list[str]:
    """The arguments of `args` that would lift a CLI's permissions, as written: a bypass flag of any CLI (`--yolo`,
    `--permission-mode bypassPermissions`, `--sandbox=danger-full-access`, ...) and, given `cli`, its own refused
    flags (`REFUSED_FLAGS`) and, for Codex, a `-c` setting of its sandbox or approvals (`CODEX_REFUSED_SETTINGS`)."""
    refused = REFUSED_FLAGS.get(cli or "", frozenset())
    found: list[str] = []
    for index, arg in enumerate(args):
        flag, equals, value = arg.partition("=")
        following = args[index + 1] if index + 1 < len(args) else ""
        if flag in BYPASS_FLAGS or flag in refused:
            found.append(arg)
        elif flag in _BYPASS_VALUES:
            value = value if equals else following
            if value.lower() in _BYPASS_VALUES[flag]:
                found.append(arg if equals else f"{arg} {value}")
        elif cli == "codex" and flag in ("-c", "--config"):
            setting = value if equals else following
            if setting.partition("=")[0].strip().split(".", 1)[0] in CODEX_REFUSED_SETTINGS:
                found.append(arg if equals else f"{arg} {setting}")
    return found


def read_only_refusal(cli: str, refused: Sequence[str]) -> str:
    """What a refusal of the args `refused` (found by `bypass_flags_in`) says: why, and what is allowed."""
    examples = _ALLOWED_EXAMPLES.get(cli, "")
    return (
        f"args {', '.join(refused)}: the CLI runs read-only, so flags that let it edit files or run commands "
        f"without asking, or that change its tools, sandbox or approvals, are refused; allowed: any other flag "
        f"(e.g. {examples})"
    )


def refuse_bypass(cli: str, args: Sequence[str]) -> None:
    """The dialects' own check, at call time, of what `cli_settings` refused at load time.

    Raises:
        ConfigError: `args` holds a flag or setting that `bypass_flags_in` refuses for `cli`.
    """
    refused = bypass_flags_in(args, cli)
    if refused:
        raise ConfigError(f"{cli}: {read_only_refusal(cli, refused)}")


def cli_settings(name: str, block: Mapping[str, Any], env: Mapping[str, str], where: str) -> CliSettings:
    """The CLI part of a `"kind": "cli"` block, checked.

    Raises:
        ConfigError: no command, an unknown CLI, a relative path, args that are not strings or that carry a
            bypass flag, env that is not an object of strings; the message says what is valid.
    """
    command = block.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(f'{where}: {name}: a CLI AI needs "command": "claude", "codex", "gemini" or an absolute path')
    command = command.strip()
    cli = block.get("cli") or _cli_of(command)
    if cli not in CLI_COMMANDS:
        known = ", ".join(f"{key} ({'/'.join(commands)})" for key, commands in CLI_COMMANDS.items())
        said = f"cli {cli!r}" if block.get("cli") else f"command {command!r}"
        raise ConfigError(f'{where}: {name}: {said} is not a CLI we know; valid: {known} (say which with "cli")')
    if os.sep in command and not os.path.isabs(command):
        raise ConfigError(f"{where}: {name}: command {command!r}: a path must be absolute (or a name on PATH)")
    args = block.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise ConfigError(f'{where}: {name}: args must be a list of strings, like ["--effort", "low"]')
    bypass = bypass_flags_in(args, cli)
    if bypass:
        raise ConfigError(f"{where}: {name}: {read_only_refusal(str(cli), bypass)}")
    extra = block.get("env", {})
    if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise ConfigError(f'{where}: {name}: env must be an object of strings, like {{"ANTHROPIC_BASE_URL": "..."}}')
    return CliSettings(
        cli=cast(CliName, cli),
        command=command,
        path=_found(command, env),
        args=tuple(args),
        env={key: SecretStr(value) for key, value in extra.items()},
    )


def _cli_of(command: str) -> str | None:
    base = Path(command).name.lower().removesuffix(".exe").removesuffix(".cmd")
    return next((cli for cli, commands in CLI_COMMANDS.items() if base in commands), None)


def _found(command: str, env: Mapping[str, str]) -> str | None:
    """The executable `command` names: itself when absolute and executable, else the first on PATH."""
    if os.path.isabs(command):
        return command if os.access(command, os.X_OK) and Path(command).is_file() else None
    return shutil.which(command, path=env.get("PATH", os.defpath))
