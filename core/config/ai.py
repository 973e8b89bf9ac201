"""One AI's configuration: the providers we know (`BUILTIN_AIS`), the validated `AIConfig`, and how one
block of credentials.json plus the environment becomes one (`build_ai`). core/config/settings.py reads the whole
file and the server settings around these.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from core.config import defaults
from core.config.cli import (
    CLI_DEFAULT_ATTEMPTS,
    CLI_DEFAULT_CONCURRENCY,
    CLI_DEFAULT_CONTEXT_TOKENS,
    CLI_DEFAULT_TIMEOUT_S,
    CLI_FIELDS,
    CLI_MODEL_DEFAULT,
    CliSettings,
    cli_settings,
)
from core.config.keys import check_key, is_placeholder
from core.errors import ConfigError
from core.money.prices import ModelPrice
from core.redact import key_hint, safe_url

__all__ = [
    "AI_FIELDS",
    "BUILTIN_AIS",
    "MAX_TIMEOUT_S",
    "OPENAI_ACCOUNT_ENV",
    "AIConfig",
    "AIKind",
    "BuiltinAI",
    "ProviderKind",
    "build_ai",
    "close_to",
    "describe",
    "env_prefix",
    "key_vars",
]

MAX_TIMEOUT_S = 3600.0
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
        "stream",
    }
)
# OpenAI's account settings: only the `openai` AI takes them, from its block or these variables (which
# the openai SDK would otherwise read for every AI it talks to, Grok and Ollama included).
OPENAI_ACCOUNT_ENV = MappingProxyType({"organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"})

ProviderKind = Literal["gemini", "openai"]
AIKind = Literal["gemini", "openai", "cli"]  # an HTTP API's wire format, or a CLI agent (core/config/cli.py)


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
    kind: AIKind
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
    # Ask for answers as a stream, so that a deadline that cuts one off leaves its text so far (off: for an
    # endpoint that rejects `stream`; one that ignores it and answers plain JSON works either way).
    stream: bool = True
    # Prices per model id, or "*" for any (core/money/prices.py); they beat genai-prices' list, not the provider's.
    prices: dict[Annotated[str, Field(min_length=1, max_length=200)], ModelPrice] = Field(default_factory=dict)
    builtin: bool = True
    placeholder_key: bool = False  # the configured key was a placeholder, so the AI has none
    cli: CliSettings | None = None  # a CLI agent's command and arguments (kind "cli"; base_url is its command)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "cli":
            return value  # the command it runs, shown where an HTTP AI shows its URL
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
        placeholder where the key goes says this one does); a CLI agent needs its command found instead."""
        if self.cli is not None:
            return self.enabled and self.cli.found
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
        return key_vars(self.name)[0]

    @property
    def key_env_vars(self) -> tuple[str, ...]:
        """Every environment variable that supplies this AI's key, the first found winning."""
        return key_vars(self.name)

    @property
    def env_prefix(self) -> str:
        """How this AI's environment variables begin: `GROK` for GROK_BASE_URL, GROK_MODEL, ..."""
        return env_prefix(self.name)

    @property
    def key_hint(self) -> str:
        """The key as status output shows it: masked by `core.redact.key_hint`, or "missing" (a built-in
        AI needs one) / "none" (a custom AI may need none) when there is no key."""
        if self.placeholder_key:
            return "placeholder"
        if self.api_key is None:
            return "missing" if self.builtin else "none"
        return key_hint(self.api_key.get_secret_value())


def close_to(name: str, valid: Iterable[str]) -> str | None:
    """The valid name `name` is most likely a misspelling of, if any."""
    matches = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.75)
    return matches[0] if matches else None


def env_prefix(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def key_vars(name: str) -> tuple[str, ...]:
    builtin = BUILTIN_AIS.get(name)
    return builtin.key_env if builtin else (f"{env_prefix(name)}_API_KEY",)


def build_ai(name: str, block: dict[str, Any], env: Mapping[str, str], where: str) -> AIConfig:
    if not _NAME.match(name):
        raise ConfigError(f"{where}: {name!r}: AI names are lowercase letters, digits, '-' or '_' (at most 40)")
    if block.get("kind") == "cli":
        return _build_cli_ai(name, block, env, where)
    unknown = sorted(set(block) - AI_FIELDS)
    if unknown:
        valid = ", ".join(sorted(AI_FIELDS))
        named = [
            f"{field} (did you mean {close}?)" if (close := close_to(field, AI_FIELDS)) else field for field in unknown
        ]
        raise ConfigError(f"{where}: {name}: unknown field(s) {', '.join(named)}; valid: {valid}")

    account = sorted(set(block) & set(OPENAI_ACCOUNT_ENV))
    if account and name != "openai":
        listed = " and ".join(account)
        raise ConfigError(f"{where}: {name}: {listed}: OpenAI account settings; only the openai AI takes them")

    prefix = env_prefix(name)
    merged = dict(block)
    key_from = where
    for var in key_vars(name):
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
        details = "; ".join(describe(item) for item in error.errors())
        raise ConfigError(f"{where}: {name}: {details}") from None


def _build_cli_ai(name: str, block: dict[str, Any], env: Mapping[str, str], where: str) -> AIConfig:
    """A `"kind": "cli"` block's AI (core/config/cli.py): no key, no URL; its command stands where the URL goes."""
    unknown = sorted(set(block) - CLI_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: {name}: unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(CLI_FIELDS))}"
        )
    cli = cli_settings(name, block, env, where)
    optional = ("model", "timeout", "max_concurrency", "enabled", "prices", "context_tokens")
    fields = {key: block[key] for key in optional if key in block}
    fields.setdefault("context_tokens", CLI_DEFAULT_CONTEXT_TOKENS)
    fields.setdefault("model", CLI_MODEL_DEFAULT)
    fields.setdefault("timeout", CLI_DEFAULT_TIMEOUT_S)
    fields.setdefault("max_concurrency", CLI_DEFAULT_CONCURRENCY)
    try:
        return AIConfig(
            name=name,
            kind="cli",
            base_url=cli.command,
            builtin=False,
            attempts=CLI_DEFAULT_ATTEMPTS,
            stream=False,
            cli=cli,
            **fields,
        )
    except ValidationError as error:
        details = "; ".join(describe(item) for item in error.errors())
        raise ConfigError(f"{where}: {name}: {details}") from None


def describe(item: Mapping[str, Any]) -> str:
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
