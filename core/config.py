"""credentials.json + environment → validated settings.

The file keeps the original Junior AI format: one block per AI name,
`{"api_key", "model", "base_url", "enabled", "timeout"}` (the last three optional). Built-in names
get their provider's defaults; any other block with a `base_url` is a custom OpenAI-compatible AI.
Blocks that are not AIs (the original's `pattern_detection`, say) are ignored with one warning.
Top-level scalar keys are server settings (see `Settings` and core/defaults.py): `tool_profile`
("compact" or "full"; env `JUNIOR_AI_TOOLS`), `deadline_s`, `attempts`, ... (env `JUNIOR_AI_<KEY>`).
The spending caps are `max_usd_per_call` and the one object-valued setting, `"budgets"` (core/budgets.py;
env `JUNIOR_AI_BUDGETS` as JSON, and `JUNIOR_AI_DAILY_USD` for its common daily cap). The HTTP mode's
`"http"` object (core/http_config.py) holds callers' token hashes; env `JUNIOR_AI_TOKENS` replaces them.

Environment values override the file: `<NAME>_API_KEY` (plus the providers' usual aliases, e.g.
`XAI_API_KEY`, `GOOGLE_API_KEY`), `<NAME>_BASE_URL`, `<NAME>_MODEL`, `<NAME>_TIMEOUT`. Custom AIs can
be declared without a file by listing their names in `JUNIOR_AI_CUSTOM_AIS`. The `openai` AI alone
also takes `organization` and `project` (env `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`): they are OpenAI's
account settings, and no other AI may receive them.

A key is checked once, when it is read (core/keys.py): anything but printable ASCII inside it (a
space, a zero-width space, a smart quote; what copying from a web page or a chat adds) is a problem
naming where the key came from, the AI and the character, never the key; a placeholder is no key.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator

from core import defaults
from core.budgets import Budgets, Cap, with_daily_usd
from core.credentials import find_credentials_file, read_credentials, warn_if_readable_by_others
from core.errors import ConfigError
from core.http_config import TOKENS_ENV, HttpSettings
from core.keys import check_key, is_placeholder
from core.prices import ModelPrice
from core.redact import key_hint, safe_url, url_secrets

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
    "read_settings",
]

logger = logging.getLogger("junior_ai.config")

MAX_TIMEOUT_S = 3600.0
CUSTOM_AIS_ENV = "JUNIOR_AI_CUSTOM_AIS"
DAILY_USD_ENV = "JUNIOR_AI_DAILY_USD"  # budgets.daily_usd: the common daily cap, in US dollars
# Top-level settings whose value is a JSON object (any other object in the file is an AI's block).
OBJECT_SETTINGS = frozenset({"budgets", "http"})
AI_FIELDS = frozenset(
    {
        "api_key",
        "model",
        "base_url",
        "enabled",
        "timeout",
        "attempts",
        "max_concurrency",
        "connect_timeout_s",
        "organization",
        "project",
        "api_version",
        "context_tokens",
        "images",
        "prices",
    }
)
# OpenAI's account settings: only the `openai` AI takes them, from its block or these variables (which
# the openai SDK would otherwise read for every AI it talks to, Grok and Ollama included).
OPENAI_ACCOUNT_ENV = MappingProxyType({"organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"})

ProviderKind = Literal["gemini", "openai"]


@dataclass(frozen=True)
class BuiltinAI:
    """A provider we know: which SDK speaks to it, where, with which model by default."""

    kind: ProviderKind
    base_url: str
    model: str
    key_env: tuple[str, ...]
    context_tokens: int  # the default model's context window (per AI: "context_tokens")
    images: bool  # whether its API takes image parts (per AI: "images")


BUILTIN_AIS: Mapping[str, BuiltinAI] = MappingProxyType(
    {
        "gemini": BuiltinAI(
            "gemini",
            "https://generativelanguage.googleapis.com",
            "gemini-2.5-flash",
            ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            1_048_576,
            True,
        ),
        "openai": BuiltinAI(
            "openai", "https://api.openai.com/v1", "gpt-4.1-mini", ("OPENAI_API_KEY",), 1_047_576, True
        ),
        "grok": BuiltinAI(
            "openai", "https://api.x.ai/v1", "grok-3-mini", ("XAI_API_KEY", "GROK_API_KEY"), 131_072, True
        ),
        "deepseek": BuiltinAI(
            "openai", "https://api.deepseek.com", "deepseek-chat", ("DEEPSEEK_API_KEY",), 131_072, False
        ),
        "openrouter": BuiltinAI(
            "openai", "https://openrouter.ai/api/v1", "openrouter/auto", ("OPENROUTER_API_KEY",), 131_072, True
        ),
    }
)
# A custom OpenAI-compatible AI (Ollama, vLLM, a gateway) unless its block says otherwise.
CUSTOM_CONTEXT_TOKENS = 32_768
CUSTOM_IMAGES = False

_URL = TypeAdapter(AnyHttpUrl)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class AIConfig(BaseModel):
    """One AI as the server will use it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: ProviderKind
    api_key: SecretStr | None = None
    model: str = Field(min_length=1)
    base_url: str
    enabled: bool = True
    timeout: float = Field(default=defaults.TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)
    attempts: int | None = Field(default=None, ge=1, le=10)
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)  # the ceiling of its adaptive limit
    connect_timeout_s: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S)
    organization: str | None = Field(default=None, min_length=1, max_length=200)
    project: str | None = Field(default=None, min_length=1, max_length=200)
    # Gemini's API version (google-genai's default is "v1"; gateways such as LiteLLM's serve "v1beta").
    api_version: str | None = Field(default=None, pattern=r"^v[0-9]+(?:(?:alpha|beta)[0-9]*)?$")
    # The model's context window in tokens, and whether the API takes images; None: the provider's default.
    context_tokens: int | None = Field(default=None, ge=1_024, le=100_000_000)
    images: bool | None = None
    # Prices per model id, or "*" for any (core/prices.py); they beat genai-prices' list, not the provider's.
    prices: dict[Annotated[str, Field(min_length=1, max_length=200)], ModelPrice] = Field(default_factory=dict)
    builtin: bool = True
    placeholder_key: bool = False  # the configured key was a placeholder, so the AI has none

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        _URL.validate_python(value)
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _blank_key_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        key = value.get_secret_value().strip() if value is not None else ""
        return SecretStr(key) if key else None

    @property
    def usable(self) -> bool:
        """Enabled and able to authenticate (custom endpoints such as Ollama need no key, unless a
        placeholder where the key goes says this one does)."""
        return self.enabled and (self.api_key is not None or not (self.builtin or self.placeholder_key))

    @property
    def context_window(self) -> int:
        """The context window, in tokens, that threads and files are fitted to."""
        default = self._provider.context_tokens if self._provider else CUSTOM_CONTEXT_TOKENS
        return self.context_tokens if self.context_tokens is not None else default

    @property
    def takes_images(self) -> bool:
        """Whether images are sent to this AI as image parts (else they are left out, with a note)."""
        default = self._provider.images if self._provider else CUSTOM_IMAGES
        return self.images if self.images is not None else default

    @property
    def _provider(self) -> BuiltinAI | None:
        return BUILTIN_AIS.get(self.name) if self.builtin else None

    @property
    def key_env_hint(self) -> str:
        """The environment variable that supplies this AI's key."""
        return _key_vars(self.name)[0]

    @property
    def key_env_vars(self) -> tuple[str, ...]:
        """Every environment variable that supplies this AI's key, the first found winning."""
        return _key_vars(self.name)

    @property
    def env_prefix(self) -> str:
        """How this AI's environment variables begin: `GROK` for GROK_BASE_URL, GROK_MODEL, ..."""
        return _env_prefix(self.name)

    @property
    def key_hint(self) -> str:
        """The key as status output shows it: masked by `core.redact.key_hint`, or "missing" (a built-in
        AI needs one) / "none" (a custom AI may need none) when there is no key."""
        if self.placeholder_key:
            return "placeholder"
        if self.api_key is None:
            return "missing" if self.builtin else "none"
        return key_hint(self.api_key.get_secret_value())


class Settings(BaseModel):
    """Everything the server reads from credentials.json and the environment."""

    model_config = ConfigDict(frozen=True)

    ais: dict[str, AIConfig] = Field(default_factory=dict)
    source: Path | None = None
    tool_profile: Literal["compact", "full"] = "compact"
    deadline_s: float = Field(default=defaults.DEADLINE_S, gt=0, le=defaults.MAX_DEADLINE_S)
    ask_deadline_s: float = Field(default=defaults.ASK_DEADLINE_S, gt=0, le=defaults.MAX_DEADLINE_S)
    debate_round_s: float = Field(default=defaults.DEBATE_ROUND_S, gt=0, le=defaults.MAX_DEADLINE_S)
    connect_timeout_s: float = Field(default=defaults.CONNECT_TIMEOUT_S, gt=0, le=MAX_TIMEOUT_S)
    attempts: int = Field(default=defaults.ATTEMPTS, ge=1, le=10)
    retry_base_s: float = Field(default=defaults.RETRY_BASE_S, ge=0, le=60)
    retry_max_s: float = Field(default=defaults.RETRY_MAX_S, ge=0, le=600)
    breaker_threshold: int = Field(default=defaults.BREAKER_THRESHOLD, ge=1, le=1000)
    breaker_cooldown_s: float = Field(default=defaults.BREAKER_COOLDOWN_S, ge=0, le=3600)
    # Each AI's adaptive limit starts at this ceiling and never goes above it (core/limiter.py).
    max_concurrency: int = Field(default=defaults.MAX_CONCURRENCY, ge=1, le=1000)
    max_connections: int = Field(default=defaults.MAX_CONNECTIONS, ge=1, le=1000)
    max_prompt_chars: int = Field(default=defaults.MAX_PROMPT_CHARS, ge=1_000, le=10_000_000)
    max_answer_chars: int = Field(default=defaults.MAX_ANSWER_CHARS, ge=1_000, le=10_000_000)
    # The store (core/store.py): None is the SQLite file in the user's data directory; several servers
    # share one PostgreSQL with "postgresql+asyncpg://user:password@host/db". Checked when it is opened.
    database_url: str | None = None
    thread_ttl_days: float = Field(default=defaults.THREAD_TTL_DAYS, gt=0, le=36_500)
    # Where `files` may be read from when the client offers no MCP roots (default: the user's home);
    # in the environment, paths separated by os.pathsep.
    allowed_roots: tuple[Path, ...] | None = None
    max_file_tokens: int = Field(default=defaults.MAX_FILE_TOKENS, ge=100, le=10_000_000)
    # Spending caps (core/budgets.py): a call's worst case, before it is sent; and per UTC day and month,
    # every AI together and each AI's own, held by the store's ledger. None: no cap.
    max_usd_per_call: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    budgets: Budgets | None = None
    # The HTTP mode (core/http_config.py): token hashes by caller name, allowed Hosts and Origins, body limit.
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
        urls = [ai.base_url for ai in self.ais.values()] + ([self.database_url] if self.database_url else [])
        return keys + [secret for url in urls for secret in url_secrets(url)]

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
    return env.get(f"{_env_prefix(name)}_BASE_URL") or (builtin.base_url if builtin else None)


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


def read_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
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
        elif name.lower() in BUILTIN_AIS or "base_url" in value:
            blocks[name.lower()] = dict(value)
        elif close := _close_to(name.lower(), BUILTIN_AIS):
            problems.append(
                f"{where}: {name}: not a known AI; did you mean {close!r}? (a custom AI's block needs base_url)"
            )
        else:
            ignored.append(name)
    if ignored:
        logger.warning("%s: ignoring blocks that are not AIs: %s", where, ", ".join(ignored))

    for name in _split_names(env.get(CUSTOM_AIS_ENV, "")):
        blocks.setdefault(name, {})
    for name in BUILTIN_AIS:
        if any(env.get(var) for var in _key_vars(name)):
            blocks.setdefault(name, {})

    ais: dict[str, AIConfig] = {}
    for name, block in blocks.items():
        try:
            ais[name] = _build_ai(name, block, env, where)
        except ConfigError as error:
            problems.append(str(error))

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
    for key in sorted(set(server) - set(SERVER_SETTINGS)):
        close = _close_to(key, SERVER_SETTINGS)
        if close:
            problems.append(f"{where}: {key}: not a setting; did you mean {close!r}?")
        else:
            logger.warning("%s: ignoring unknown setting %r (valid: %s)", where, key, ", ".join(SERVER_SETTINGS))
        del server[key]
    if source is not None:
        warn_if_readable_by_others(source)
    return _settings(ais, source, server, where, problems), unreadable


def caps_for(settings: Settings, ai: str) -> list[Cap]:
    """The caps a call to AI `ai` is held to: the common daily and monthly ones, then the AI's own (the
    per-call cap, `max_usd_per_call`, is checked apart: core/budgets.py's `check_call_cost`)."""
    return settings.budgets.caps_for(ai) if settings.budgets is not None else []


def _settings(
    ais: dict[str, AIConfig], source: Path | None, server: dict[str, Any], where: str, problems: list[str]
) -> Settings:
    """The settings, with each invalid server setting reported and left at its default."""
    try:
        settings = Settings.model_validate({"ais": ais, "source": source, **server})
    except ValidationError as error:
        problems.extend(f"{where}: {_describe(item)}" for item in error.errors())
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


def _close_to(name: str, valid: Iterable[str]) -> str | None:
    """The valid name `name` is most likely a misspelling of, if any."""
    matches = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.75)
    return matches[0] if matches else None


def _split_names(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def _env_prefix(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _key_vars(name: str) -> tuple[str, ...]:
    builtin = BUILTIN_AIS.get(name)
    return builtin.key_env if builtin else (f"{_env_prefix(name)}_API_KEY",)


def _build_ai(name: str, block: dict[str, Any], env: Mapping[str, str], where: str) -> AIConfig:
    if not _NAME.match(name):
        raise ConfigError(f"{where}: {name!r}: AI names are lowercase letters, digits, '-' or '_' (at most 40)")
    unknown = sorted(set(block) - AI_FIELDS)
    if unknown:
        valid = ", ".join(sorted(AI_FIELDS))
        named = [
            f"{field} (did you mean {close}?)" if (close := _close_to(field, AI_FIELDS)) else field for field in unknown
        ]
        raise ConfigError(f"{where}: {name}: unknown field(s) {', '.join(named)}; valid: {valid}")

    account = sorted(set(block) & set(OPENAI_ACCOUNT_ENV))
    if account and name != "openai":
        listed = " and ".join(account)
        raise ConfigError(f"{where}: {name}: {listed}: OpenAI account settings; only the openai AI takes them")

    prefix = _env_prefix(name)
    merged = dict(block)
    key_from = where
    for var in _key_vars(name):
        if env.get(var):
            merged["api_key"], key_from = env[var], var
            break
    for field in ("base_url", "model", "timeout", "api_version"):
        value = env.get(f"{prefix}_{field.upper()}")
        if value:
            merged[field] = value
    if name == "openai":
        for field, var in OPENAI_ACCOUNT_ENV.items():
            if env.get(var):
                merged[field] = env[var]
    placeholder = isinstance(merged.get("api_key"), str) and is_placeholder(merged["api_key"])
    if placeholder:
        merged["api_key"] = None  # the example file's value, not a key: the AI needs one
    elif isinstance(merged.get("api_key"), str):
        check_key(merged["api_key"], name, key_from)

    builtin = BUILTIN_AIS.get(name)
    if "api_version" in merged and (builtin is None or builtin.kind != "gemini"):
        raise ConfigError(f"{where}: {name}: api_version: only Gemini takes it (the OpenAI API has none)")
    if builtin:
        merged.setdefault("model", builtin.model)
        merged.setdefault("base_url", builtin.base_url)
    elif "base_url" not in merged:
        raise ConfigError(f"{where}: {name}: a custom AI needs base_url (set it in the file or {prefix}_BASE_URL)")
    elif "model" not in merged:
        raise ConfigError(f"{where}: {name}: a custom AI needs model (set it in the file or {prefix}_MODEL)")
    try:
        kind: ProviderKind = builtin.kind if builtin else "openai"
        return AIConfig(name=name, kind=kind, builtin=builtin is not None, placeholder_key=placeholder, **merged)
    except ValidationError as error:
        details = "; ".join(_describe(item) for item in error.errors())
        raise ConfigError(f"{where}: {name}: {details}") from None


def _describe(item: Mapping[str, Any]) -> str:
    loc = [str(part) for part in item["loc"]]
    if len(loc) > 1 and loc[0] == "prices":  # a model id has dots of its own: prices["gpt-4.1"].input_per_mtok
        loc[:2] = [f"prices[{loc[1]!r}]"]
    field = ".".join(loc) or "value"
    value = item.get("input")
    if field == "api_key" or loc[:1] == ["http"]:  # a token may have been pasted where its hash goes
        shown = "<hidden>"
    elif field in {"base_url", "database_url"} and isinstance(value, str):
        shown = repr(safe_url(value))  # a password written into the URL
    else:
        shown = repr(value)
    return f"{field}: {item['msg']} (got {shown})"
