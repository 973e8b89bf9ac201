"""credentials.json + environment → validated settings.

The file keeps the original Junior AI format: one block per AI name,
`{"api_key", "model", "base_url", "enabled", "timeout"}` (the last three optional). Built-in names
get their provider's defaults; any other block with a `base_url` is a custom OpenAI-compatible AI.
Blocks that are not AIs (the original's `pattern_detection`, say) are ignored with one warning.
Top-level scalar keys are server settings (see `Settings` and core/defaults.py): `tool_profile`
("compact" or "full"; env `JUNIOR_AI_TOOLS`), `deadline_s`, `attempts`, ... (env `JUNIOR_AI_<KEY>`).

Environment values override the file: `<NAME>_API_KEY` (plus the providers' usual aliases, e.g.
`XAI_API_KEY`, `GOOGLE_API_KEY`), `<NAME>_BASE_URL`, `<NAME>_MODEL`, `<NAME>_TIMEOUT`. Custom AIs can
be declared without a file by listing their names in `JUNIOR_AI_CUSTOM_AIS`. The `openai` AI alone
also takes `organization` and `project` (env `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`): they are OpenAI's
account settings, and no other AI may receive them.

A key is checked here, once, not at every call: anything but printable ASCII inside it (a space, a
zero-width space, a smart quote, a non-breaking space; what copying from a web page or a chat adds)
is a ConfigError naming where the key came from, the AI and the character, never the key.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator

from core import defaults
from core.errors import ConfigError
from core.redact import key_hint, safe_url, url_secrets

__all__ = [
    "BUILTIN_AIS",
    "AIConfig",
    "BuiltinAI",
    "Settings",
    "default_base_url",
    "find_credentials_file",
    "load_settings",
]

logger = logging.getLogger("junior_ai.config")

MAX_TIMEOUT_S = 3600.0
CREDENTIALS_ENV = "JUNIOR_AI_CREDENTIALS"
CUSTOM_AIS_ENV = "JUNIOR_AI_CUSTOM_AIS"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
USER_CREDENTIALS = Path("~/.config/junior-ai/credentials.json")
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
    }
)
# OpenAI's account settings: only the `openai` AI takes them, from its block or these variables (which
# the openai SDK would otherwise read for every AI it talks to, Grok and Ollama included).
OPENAI_ACCOUNT_ENV = MappingProxyType({"organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"})
MAX_CREDENTIALS_BYTES = 1_000_000  # a credentials file is a few hundred bytes; more is a wrong file

ProviderKind = Literal["gemini", "openai"]


@dataclass(frozen=True)
class BuiltinAI:
    """A provider we know: which SDK speaks to it, where, with which model by default."""

    kind: ProviderKind
    base_url: str
    model: str
    key_env: tuple[str, ...]


BUILTIN_AIS: Mapping[str, BuiltinAI] = MappingProxyType(
    {
        "gemini": BuiltinAI(
            "gemini",
            "https://generativelanguage.googleapis.com",
            "gemini-2.5-flash",
            ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ),
        "openai": BuiltinAI("openai", "https://api.openai.com/v1", "gpt-4.1-mini", ("OPENAI_API_KEY",)),
        "grok": BuiltinAI("openai", "https://api.x.ai/v1", "grok-3-mini", ("XAI_API_KEY", "GROK_API_KEY")),
        "deepseek": BuiltinAI("openai", "https://api.deepseek.com", "deepseek-chat", ("DEEPSEEK_API_KEY",)),
        "openrouter": BuiltinAI("openai", "https://openrouter.ai/api/v1", "openrouter/auto", ("OPENROUTER_API_KEY",)),
    }
)

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
    builtin: bool = True

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
        """Enabled and able to authenticate (custom endpoints such as Ollama need no key)."""
        return self.enabled and (self.api_key is not None or not self.builtin)

    @property
    def key_env_hint(self) -> str:
        """The environment variable that supplies this AI's key."""
        return _key_vars(self.name)[0]

    @property
    def key_hint(self) -> str:
        """The key as status output shows it: masked by `core.redact.key_hint`, or "missing" (a built-in
        AI needs one) / "none" (a custom AI may need none) when there is no key."""
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

    @property
    def usable_ais(self) -> list[str]:
        return [name for name, ai in self.ais.items() if ai.usable]

    @property
    def secrets(self) -> list[str]:
        """Every credential in the configuration, to mask wherever it would appear: the API keys, and
        passwords written into base URLs."""
        keys = [ai.api_key.get_secret_value() for ai in self.ais.values() if ai.api_key]
        return keys + [secret for ai in self.ais.values() for secret in url_secrets(ai.base_url)]


# Server settings: top-level keys of credentials.json, and the environment variables that override them.
SERVER_SETTINGS: Mapping[str, str] = MappingProxyType(
    {
        key: "JUNIOR_AI_TOOLS" if key == "tool_profile" else f"JUNIOR_AI_{key.upper()}"
        for key in Settings.model_fields
        if key not in {"ais", "source"}
    }
)


def default_base_url(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Where AI `name` lives when nobody said: `<NAME>_BASE_URL`, else the built-in default (or None)."""
    env = os.environ if env is None else env
    builtin = BUILTIN_AIS.get(name)
    return env.get(f"{_env_prefix(name)}_BASE_URL") or (builtin.base_url if builtin else None)


def find_credentials_file(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """Where the credentials come from: the explicit path, $JUNIOR_AI_CREDENTIALS, beside server.py, ~/.config.

    Whatever exists at the chosen path is returned, a directory or a FIFO too: reading it then says
    what is wrong with it, rather than the lookup passing over it in silence.

    Raises:
        ConfigError: an explicitly named file (argument or environment) does not exist or cannot be
            looked at.
    """
    env = os.environ if env is None else env
    for given, origin in ((explicit, "--credentials"), (env.get(CREDENTIALS_ENV), CREDENTIALS_ENV)):
        if given:
            path = Path(given).expanduser()
            if not _exists(path, origin):
                raise ConfigError(f"{path}: no such credentials file (named by {origin})")
            return path
    for candidate in (PROJECT_ROOT / "credentials.json", USER_CREDENTIALS.expanduser()):
        if _exists(candidate, "the default lookup"):
            return candidate
    return None


def _exists(path: Path, origin: str) -> bool:
    try:
        os.stat(path)  # follows links: a dangling link is "no such file"
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False  # a path through a regular file ("credentials.json/x"): nothing there
    except OSError as error:
        why = error.strerror
        raise ConfigError(f"{path}: cannot look at the credentials file ({why}; named by {origin})") from None
    return True


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the configuration. No file and no keys is a valid (empty) result.

    Raises:
        ConfigError: the file is unreadable or malformed, or a value is invalid; the message names
            the file, the AI and the field.
    """
    env = os.environ if env is None else env
    source = find_credentials_file(path, env)
    where = str(source) if source else "environment"
    raw = _read_file(source) if source else {}

    blocks: dict[str, dict[str, Any]] = {}
    server: dict[str, Any] = {}
    ignored: list[str] = []
    problems: list[str] = []
    for name, value in raw.items():
        if name.lower() in BUILTIN_AIS and not isinstance(value, dict):
            problems.append(f'{where}: {name}: the block must be a JSON object like {{"api_key": "..."}}')
        elif not isinstance(value, dict):
            server[name] = value
        elif name.lower() in blocks:
            problems.append(f"{where}: {name}: a second block for {name.lower()!r} (names ignore case)")
        elif name.lower() in BUILTIN_AIS or "base_url" in value:
            blocks[name.lower()] = dict(value)
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
    for key in sorted(set(server) - set(SERVER_SETTINGS)):
        logger.warning("%s: ignoring unknown setting %r (valid: %s)", where, key, ", ".join(SERVER_SETTINGS))
        del server[key]
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    if source is not None:
        _warn_if_readable_by_others(source)
    try:
        return Settings.model_validate({"ais": ais, "source": source, **server})
    except ValidationError as error:
        details = "; ".join(_describe(item) for item in error.errors())
        raise ConfigError(f"{where}: {details}") from None


def _warn_if_readable_by_others(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        logger.warning("%s holds API keys and is readable by group or others; fix: chmod 600 %s", path, path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of a sane size; never blocks on a FIFO or a device."""
    try:
        kind = os.stat(path).st_mode
    except OSError as error:
        raise ConfigError(f"{path}: cannot read credentials file ({error.strerror})") from None
    if stat.S_ISDIR(kind):
        raise ConfigError(f"{path}: is a directory, not a credentials file; name the JSON file inside it")
    if not stat.S_ISREG(kind):
        raise ConfigError(f"{path}: is not a regular file (a {_file_kind(kind)}); name a JSON credentials file")
    # Opened without blocking and checked again on the open file: the path may have been swapped for
    # a FIFO since the stat above, and opening a FIFO for reading would wait for a writer forever.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read credentials file ({error.strerror})") from None
    with open(fd, "rb") as file:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError(f"{path}: is not a regular file; name a JSON credentials file")
            data = file.read(MAX_CREDENTIALS_BYTES + 1)
        except OSError as error:
            raise ConfigError(f"{path}: cannot read credentials file ({error.strerror})") from None
    if len(data) > MAX_CREDENTIALS_BYTES:
        raise ConfigError(f"{path}: is larger than {MAX_CREDENTIALS_BYTES:,} bytes; not a credentials file")
    return data


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "FIFO", stat.S_ISSOCK: "socket", stat.S_ISCHR: "character device"}
    return next((name for test, name in kinds.items() if test(mode)), "special file")


def _read_file(path: Path) -> dict[str, Any]:
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig")  # a BOM, as Windows editors write it, is harmless
    except UnicodeDecodeError as error:
        bad = data[error.start]
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte 0x{bad:02x} at offset {error.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise ConfigError(f'{path}: is empty; it should hold a JSON object like {{"gemini": {{"api_key": "..."}}}}')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError:  # int(): a number longer than Python's limit on digits
        raise ConfigError(f"{path}: not valid JSON (a number with too many digits)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a JSON object with one block per AI, got {type(data).__name__}")
    return data


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
        raise ConfigError(f"{where}: {name}: unknown field(s) {', '.join(unknown)}; valid: {valid}")

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
    for field in ("base_url", "model", "timeout"):
        value = env.get(f"{prefix}_{field.upper()}")
        if value:
            merged[field] = value
    if name == "openai":
        for field, var in OPENAI_ACCOUNT_ENV.items():
            if env.get(var):
                merged[field] = env[var]
    if isinstance(merged.get("api_key"), str):
        _check_key(merged["api_key"], name, key_from)

    builtin = BUILTIN_AIS.get(name)
    if builtin:
        merged.setdefault("model", builtin.model)
        merged.setdefault("base_url", builtin.base_url)
    elif "base_url" not in merged:
        raise ConfigError(f"{where}: {name}: a custom AI needs base_url (set it in the file or {prefix}_BASE_URL)")
    elif "model" not in merged:
        raise ConfigError(f"{where}: {name}: a custom AI needs model (set it in the file or {prefix}_MODEL)")
    try:
        return AIConfig(name=name, kind=builtin.kind if builtin else "openai", builtin=builtin is not None, **merged)
    except ValidationError as error:
        details = "; ".join(_describe(item) for item in error.errors())
        raise ConfigError(f"{where}: {name}: {details}") from None


def _check_key(key: str, name: str, where: str) -> None:
    """A key is printable ASCII: HTTP headers carry nothing else, and a stray character is a copying
    mistake the provider would only answer with a baffling error (httpx cannot even send it).

    Raises:
        ConfigError: naming where the key came from, the AI, the character and its position; never the key.
    """
    key = key.strip()  # leading and trailing whitespace is dropped, as it always was
    for position, char in enumerate(key, start=1):
        if not "!" <= char <= "~":
            raise ConfigError(
                f"{where}: {name}: api_key contains {_describe_char(char)} at position {position}; re-copy the key"
            )


def _describe_char(char: str) -> str:
    if char == " ":
        return "a space"
    name = unicodedata.name(char, "").lower() or ("a control character" if ord(char) < 0x20 else "a character")
    article = "" if name.startswith("a ") else ("an " if name[0] in "aeiou" else "a ")
    return f"{article}{name} (U+{ord(char):04X})"


def _describe(item: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in item["loc"]) or "value"
    value = item.get("input")
    if field == "api_key":
        shown = "<hidden>"
    elif field == "base_url" and isinstance(value, str):
        shown = repr(safe_url(value))  # a password written into the URL
    else:
        shown = repr(value)
    return f"{field}: {item['msg']} (got {shown})"
