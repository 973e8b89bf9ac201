"""credentials.json + environment → validated settings.

The file keeps the original Junior AI format: one block per AI name,
`{"api_key", "model", "base_url", "enabled", "timeout"}` (the last three optional). Built-in names
get their provider's defaults; any other block with a `base_url` is a custom OpenAI-compatible AI.
Blocks that are not AIs (the original's `pattern_detection`, say) are ignored with one warning.
Top-level scalar keys are server settings (see `Settings` and core/config/defaults.py): `tool_profile`
("compact" or "full"; env `JUNIOR_AI_TOOLS`), `deadline_s`, `attempts`, ... (env `JUNIOR_AI_<KEY>`).
The spending caps are `max_usd_per_call` and the one object-valued setting, `"budgets"` (core/money/caps.py;
env `JUNIOR_AI_BUDGETS` as JSON, and `JUNIOR_AI_DAILY_USD` for its common daily cap). The HTTP mode's
`"http"` object (core/config/http.py) holds callers' token hashes; env `JUNIOR_AI_TOKENS` replaces them, and
`JUNIOR_AI_OAUTH_CLIENT_SECRET` sets its `"oauth"` block's client secret.

Environment values override the file: `<NAME>_API_KEY` (plus the providers' usual aliases, e.g.
`XAI_API_KEY`, `GOOGLE_API_KEY`), `<NAME>_BASE_URL`, `<NAME>_MODEL`, `<NAME>_TIMEOUT`. Custom AIs can
be declared without a file by listing their names in `JUNIOR_AI_CUSTOM_AIS`. The `openai` AI alone
also takes `organization` and `project` (env `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`): they are OpenAI's
account settings, and no other AI may receive them.

A key is checked once, when it is read (core/config/keys.py): anything but printable ASCII inside it (a
space, a zero-width space, a smart quote; what copying from a web page or a chat adds) is a problem
naming where the key came from, the AI and the character, never the key; a placeholder is no key.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core.config import defaults
from core.config.ai import (
    BUILTIN_AIS,
    MAX_TIMEOUT_S,
    AIConfig,
    BuiltinAI,
    build_ai,
    close_to,
    describe,
    env_prefix,
    key_vars,
)
from core.config.credentials import find_credentials_file, read_credentials, warn_if_readable_by_others
from core.config.http import OAUTH_SECRET_ENV, TOKENS_ENV, HttpSettings
from core.errors import ConfigError
from core.money.caps import Budgets, Cap, with_daily_usd
from core.redact import url_secrets

__all__ = [
    "BUILTIN_AIS",
    "CHECK_COMMAND",
    "DAILY_USD_ENV",
    "AIConfig",
    "BuiltinAI",
    "Settings",
    "caps_for",
    "default_base_url",
    "describe_problems",
    "load_settings",
    "settings_or_problems",
]

logger = logging.getLogger("junior_ai.config")

CUSTOM_AIS_ENV = "JUNIOR_AI_CUSTOM_AIS"
DAILY_USD_ENV = "JUNIOR_AI_DAILY_USD"  # budgets.daily_usd: the common daily cap, in US dollars
# Top-level settings whose value is a JSON object (any other object in the file is an AI's block).
OBJECT_SETTINGS = frozenset({"budgets", "http"})


class Settings(BaseModel):
    """Everything the server reads from credentials.json and the environment."""

    model_config = ConfigDict(frozen=True)

    ais: dict[str, AIConfig] = Field(default_factory=dict)
    source: Path | None = None
    tool_profile: Literal["compact", "full"] = "compact"
    deadline_s: float = Field(default=defaults.DEADLINE_S, gt=0, le=defaults.MAX_DEADLINE_S)
    ask_deadline_s: float = Field(default=defaults.ASK_DEADLINE_S, gt=0, le=defaults.MAX_DEADLINE_S)
    # A call still running this long hands off: it returns what is in and a job_id (tools/handoff.py).
    handoff_s: float = Field(default=defaults.HANDOFF_S, gt=0, le=defaults.MAX_DEADLINE_S)
    debate_round_s: float = Field(default=defaults.DEBATE_ROUND_S, gt=0, le=defaults.MAX_DEADLINE_S)
    connect_timeout_s: float = Field(default=defaults.CONNECT_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)
    attempts: int = Field(default=defaults.ATTEMPTS, ge=1, le=10)
    retry_base_s: float = Field(default=defaults.RETRY_BASE_S, ge=0, le=60)
    retry_max_s: float = Field(default=defaults.RETRY_MAX_S, ge=0, le=600)
    breaker_threshold: int = Field(default=defaults.BREAKER_THRESHOLD, ge=1, le=1000)
    breaker_cooldown_s: float = Field(default=defaults.BREAKER_COOLDOWN_S, ge=0, le=3600)
    # Each AI's adaptive limit starts at this ceiling and never goes above it (core/resilience/limiter.py).
    max_concurrency: int = Field(default=defaults.MAX_CONCURRENCY, ge=1, le=1000)
    max_connections: int = Field(default=defaults.MAX_CONNECTIONS, ge=1, le=1000)
    max_prompt_chars: int = Field(default=defaults.MAX_PROMPT_CHARS, ge=1_000, le=10_000_000)
    max_answer_chars: int = Field(default=defaults.MAX_ANSWER_CHARS, ge=1_000, le=10_000_000)
    max_answer_bytes: int = Field(default=defaults.MAX_ANSWER_BYTES, ge=64 * 1024, le=1024**3)
    # The store (core/store/database.py): None is the SQLite file in the user's data directory; several servers
    # share one PostgreSQL with "postgresql+asyncpg://user:password@host/db". Checked when it is opened.
    database_url: str | None = None
    thread_ttl_days: float = Field(default=defaults.THREAD_TTL_DAYS, gt=0, le=36_500)
    # Where `files` may be read from when the client offers no MCP roots (default: none, and then files are
    # refused with how to set this; never the whole home directory); in the environment, paths separated by
    # os.pathsep.
    allowed_roots: tuple[Path, ...] | None = None
    max_file_tokens: int = Field(default=defaults.MAX_FILE_TOKENS, ge=100, le=10_000_000)
    # The key that seals the state a 2026-07-28 call carries between its rounds (the client's roots are asked
    # in a round of their own): replicas behind one balancer must share it, or a round started at one is
    # refused at another. None: a key of this process's own (stdio, one replica). A secret: masked in logs.
    request_state_key: SecretStr | None = Field(default=None, min_length=32)
    # Spending caps (core/money/caps.py): a call's worst case, before it is sent; and per UTC day and month,
    # every AI together and each AI's own, held by the store's ledger. None: no cap.
    max_usd_per_call: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    budgets: Budgets | None = None
    # A call whose worst case is more than this asks the user first (tools/confirm.py); None: never asked.
    confirm_over_usd: float | None = Field(default=defaults.CONFIRM_OVER_USD, ge=0, allow_inf_nan=False)
    # The HTTP mode (core/config/http.py): token hashes by caller name, allowed Hosts and Origins, body limit.
    http: HttpSettings = Field(default_factory=HttpSettings)
    # What could not be read (file, AI, field, what to write instead); empty when all is well.
    problems: tuple[str, ...] = ()

    @property
    def usable_ais(self) -> list[str]:
        return [name for name, ai in self.ais.items() if ai.usable]

    @property
    def secrets(self) -> list[str]:
        """Every credential in the configuration, to mask wherever it would appear: the API keys, and
        passwords written into base URLs and the database URL."""
        keys = [ai.api_key.get_secret_value() for ai in self.ais.values() if ai.api_key]
        keys += [secret for ai in self.ais.values() if ai.cli for secret in ai.cli.secrets]
        urls = [ai.base_url for ai in self.ais.values() if ai.cli is None]  # a CLI's "URL" is its command
        urls += [self.database_url] if self.database_url else []
        oauth = [self.http.oauth.client_secret.get_secret_value()] if self.http.oauth is not None else []
        state = [self.request_state_key.get_secret_value()] if self.request_state_key is not None else []
        return keys + oauth + state + [secret for url in urls for secret in url_secrets(url)]

    @field_validator("allowed_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        if isinstance(value, str):  # the environment's form: "/src:/work"
            value = [part for part in value.split(os.pathsep) if part.strip()]
        if isinstance(value, list | tuple):
            return tuple(Path(str(part)).expanduser() for part in value)
        return value

    @field_validator("budgets", "http", mode="before")
    @classmethod
    def _object_from_json(cls, value: Any) -> Any:
        if isinstance(value, str):  # the environment's form: JUNIOR_AI_BUDGETS='{"daily_usd": 5}'
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON object ({error})") from None
        return value

    @property
    def capped(self) -> bool:
        """Whether any spending cap is set (then a call whose cost cannot be checked must not be sent)."""
        return self.max_usd_per_call is not None or (self.budgets is not None and self.budgets.capped)

    @field_validator("database_url")
    @classmethod
    def _blank_url_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


# Server settings: top-level keys of credentials.json, and the environment variables that override them.
SERVER_SETTINGS: Mapping[str, str] = MappingProxyType(
    {
        key: "JUNIOR_AI_TOOLS" if key == "tool_profile" else f"JUNIOR_AI_{key.upper()}"
        for key in Settings.model_fields
        if key not in {"ais", "source", "problems"}
    }
)


def default_base_url(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Where AI `name` lives when nobody said: `<NAME>_BASE_URL`, else the built-in default (or None)."""
    env = os.environ if env is None else env
    builtin = BUILTIN_AIS.get(name)
    return env.get(f"{env_prefix(name)}_BASE_URL") or (builtin.base_url if builtin else None)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the configuration. No file and no keys is a valid (empty) result.

    Raises:
        ConfigError: the file is unreadable or malformed, or a value is invalid; the message names
            the file, the AI and the field (every problem, one per line).
    """
    settings, unreadable = _read(path, env)
    if unreadable is not None:
        raise unreadable
    if settings.problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(settings.problems))
    return settings


def settings_or_problems(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """`load_settings` that never raises: what could be read, and every problem in `Settings.problems`.

    A file that cannot be read at all gives no AI from the file (the environment's still count); a bad
    AI block leaves that AI out and the others working; a bad server setting keeps its default.
    """
    return _read(path, env)[0]


def _read(path: str | Path | None, env: Mapping[str, str] | None) -> tuple[Settings, ConfigError | None]:
    """The settings and their problems, and the error that kept the file from being read, if one did."""
    env = os.environ if env is None else env
    problems: list[str] = []
    unreadable: ConfigError | None = None
    try:
        source = find_credentials_file(path, env)
        raw = read_credentials(source) if source else {}
    except ConfigError as error:
        source, raw, unreadable = None, {}, error
        problems.append(str(error))
    where = str(source) if source else "environment"
    blocks, server = _sorted_blocks(raw, where, problems)
    ais = _built_ais(_with_env_ais(blocks, env), env, where, problems)
    server = _known_settings(_with_env_settings(server, env, where, problems), where, problems)
    if source is not None:
        warn_if_readable_by_others(source)
    return _settings(ais, source, server, where, problems), unreadable


def _sorted_blocks(
    raw: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The file's top level, sorted: the AIs' blocks (by lower-case name) and the server's settings; a
    block that is neither is a problem (a near miss of a known AI) or ignored with a warning."""
    blocks: dict[str, dict[str, Any]] = {}
    server: dict[str, Any] = {}
    ignored: list[str] = []
    for name, value in raw.items():
        if name.lower() in BUILTIN_AIS and not isinstance(value, dict):
            problems.append(f'{where}: {name}: the block must be a JSON object like {{"api_key": "..."}}')
        elif not isinstance(value, dict) or name in OBJECT_SETTINGS:
            server[name] = value
        elif name.lower() in blocks:
            problems.append(f"{where}: {name}: a second block for {name.lower()!r} (names ignore case)")
        elif name.lower() in BUILTIN_AIS or "base_url" in value or value.get("kind") == "cli":
            blocks[name.lower()] = dict(value)
        elif close := close_to(name.lower(), BUILTIN_AIS):
            problems.append(
                f"{where}: {name}: not a known AI; did you mean {close!r}? (a custom AI's block needs base_url)"
            )
        else:
            ignored.append(name)
    if ignored:
        logger.warning("%s: ignoring blocks that are not AIs: %s", where, ", ".join(ignored))
    return blocks, server


def _with_env_ais(blocks: dict[str, dict[str, Any]], env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The blocks, plus an empty one for each AI the environment alone names (a custom AI's list, a key)."""
    for name in _split_names(env.get(CUSTOM_AIS_ENV, "")):
        blocks.setdefault(name, {})
    for name in BUILTIN_AIS:
        if any(env.get(var) for var in key_vars(name)):
            blocks.setdefault(name, {})
    return blocks


def _built_ais(
    blocks: Mapping[str, dict[str, Any]], env: Mapping[str, str], where: str, problems: list[str]
) -> dict[str, AIConfig]:
    """Each block's AI; a block that cannot be built is a problem, and the others still work."""
    ais: dict[str, AIConfig] = {}
    for name, block in blocks.items():
        try:
            ais[name] = build_ai(name, block, env, where)
        except ConfigError as error:
            problems.append(str(error))
    return ais


def _with_env_settings(
    server: dict[str, Any], env: Mapping[str, str], where: str, problems: list[str]
) -> dict[str, Any]:
    """The server's settings with the environment's over them: each setting's variable, the daily cap, the
    HTTP tokens (the rest of the file's "http" block kept) and the OAuth client secret."""
    for key, variable in SERVER_SETTINGS.items():
        if env.get(variable):
            server[key] = env[variable]
    if env.get(DAILY_USD_ENV):
        try:
            server["budgets"] = with_daily_usd(server.get("budgets"), env[DAILY_USD_ENV])
        except ValueError as error:
            problems.append(f"{where}: budgets: {error}, so {DAILY_USD_ENV} cannot be added to it")
    if env.get(TOKENS_ENV):  # replaces the file's tokens, keeps the rest of its "http" block
        http = server.get("http")
        if http is None or isinstance(http, dict):
            server["http"] = {**(http or {}), "tokens": env[TOKENS_ENV]}
    http = server.get("http")
    if env.get(OAUTH_SECRET_ENV) and isinstance(http, dict) and isinstance(http.get("oauth"), dict):
        server["http"] = {**http, "oauth": {**http["oauth"], "client_secret": env[OAUTH_SECRET_ENV]}}
    return server


def _known_settings(server: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """The server's settings without unknown keys: a near miss of a setting is a problem, anything else
    ignored with a warning."""
    for key in sorted(set(server) - set(SERVER_SETTINGS)):
        close = close_to(key, SERVER_SETTINGS)
        if close:
            problems.append(f"{where}: {key}: not a setting; did you mean {close!r}?")
        else:
            logger.warning("%s: ignoring unknown setting %r (valid: %s)", where, key, ", ".join(SERVER_SETTINGS))
        del server[key]
    return server


def caps_for(settings: Settings, ai: str) -> list[Cap]:
    """The caps a call to AI `ai` is held to: the common daily and monthly ones, then the AI's own (the
    per-call cap, `max_usd_per_call`, is checked apart: core/money/caps.py's `check_call_cost`)."""
    return settings.budgets.caps_for(ai) if settings.budgets is not None else []


def _settings(
    ais: dict[str, AIConfig], source: Path | None, server: dict[str, Any], where: str, problems: list[str]
) -> Settings:
    """The settings, with each invalid server setting reported and left at its default."""
    try:
        settings = Settings.model_validate({"ais": ais, "source": source, **server})
    except ValidationError as error:
        problems.extend(f"{where}: {describe(item)}" for item in error.errors())
        bad = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        settings = Settings.model_validate(
            {"ais": ais, "source": source, **{k: v for k, v in server.items() if k not in bad}}
        )
    if settings.budgets is not None:
        problems.extend(f"{where}: {problem}" for problem in settings.budgets.misnamed_ais([*ais, *BUILTIN_AIS]))
    return settings.model_copy(update={"problems": tuple(problems)})


# How users check a configuration: the README's command (an installed server: `junior-ai --check`).
CHECK_COMMAND = "python3 run.py serve --check"


def describe_problems(settings: Settings) -> str:
    """What is wrong with the configuration, one problem a line, and how to check the fix; "" when
    nothing is."""
    if not settings.problems:
        return ""
    lost = "no AI can be used" if not settings.usable_ais else f"usable: {', '.join(settings.usable_ais)}"
    lines = "\n".join(f"- {problem}" for problem in settings.problems)
    return (
        f"The configuration has {_count(len(settings.problems), 'problem')} ({lost}):\n{lines}\n"
        f"Fix it, check with `{CHECK_COMMAND}`, then restart the MCP server."
    )


def _count(n: int, noun: str) -> str:
    return f"{'one' if n == 1 else n} {noun}{'' if n == 1 else 's'}"


def _split_names(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]
