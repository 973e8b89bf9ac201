"""Secrets never leave the process in a message: one redactor for log records and everything we send.

A `Redactor` holds the keys to mask (every API key the configuration holds, `Settings.secrets`) and
replaces each by its masked hint wherever it appears: the application's redactor in every result the
server sends, through the MCP middleware at the tool boundary, and the server process's in log records,
through `RedactingFilter` on the log handlers (for the life of the process, so that a log line written
after shutdown is covered too). Not only the whole key: any run of `PARTIAL_CHARS`
or more consecutive characters of a key is masked too, since providers echo keys partly hidden
("sk-proj-****…Ab12cd34ef56"). A password in a URL (`https://user:pass@host`) is masked wherever a URL
with user information appears (`safe_url` for showing a configured base URL). Validation messages
never echo the rejected value (pydantic may shorten a long value, and a shortened key would not
match). Log records are also cleared of anything that looks like a bearer token or an API-key header,
whatever its value.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

__all__ = [
    "RedactingFilter",
    "Redactor",
    "encodable",
    "encodable_data",
    "key_hint",
    "safe_origin",
    "safe_url",
    "url_secrets",
]

MIN_SECRET_CHARS = 16  # real keys are longer; shorter placeholders ("ollama") would mask ordinary words
PARTIAL_CHARS = 12  # this many consecutive characters of a key in a text are masked wherever they appear
# Any run of PARTIAL_CHARS characters of a key contains one whole block starting at a multiple of
# _BLOCK_CHARS (2 * _BLOCK_CHARS - 1 <= PARTIAL_CHARS), so searching a text for a key's few aligned
# blocks with str.find (C speed) finds every candidate run; only a hit is then extended character by
# character. That keeps masking at a few finds per key over the text, not a check at every position.
_BLOCK_CHARS = PARTIAL_CHARS // 2

# User information in a URL: "//user:password@" is masked in every text; "//token@" (a lone user name,
# which some services use as the credential) only in `safe_url`, since answers are full of
# "ssh://git@github.com" and "postgres://postgres@localhost".
_USERINFO = re.compile(r"(?<=//)([^/?#@\s:]*)(:[^/?#@\s]*)?@")
_PASSWORD = re.compile(r"(?<=//)([^/?#@\s:]*):[^/?#@\s]*@")
# A rejected value, as pydantic's validation messages echo it: "[type=..., input_value=..., input_type=...]".
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=)|input_value=\S+")
# Token-like values (long, with a digit) after the names credentials go by: for log records only, where
# a library may print a header; answers are left alone, since code and prose use these words too.
_CREDENTIALS = re.compile(
    r"(?i)((?:bearer\s+|x-goog-api-key['\"]?\s*[:=]\s*['\"]?|api[_-]?key['\"]?\s*[:=]\s*['\"]?))"
    r"(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{20,}"
)


def key_hint(secret: str) -> str:
    """How a key is shown wherever it would appear (status, `--check`, masked text): `…` plus its last
    4 characters, or `***` for a key shorter than `MIN_SECRET_CHARS`, of which 4 characters are too much.

    For example `key_hint("sk-0123456789abcdefWXYZ")` is `"…WXYZ"`.
    """
    return f"…{secret[-4:]}" if len(secret) >= MIN_SECRET_CHARS else "***"


class Redactor:
    """The keys to mask, and the masking: `redact` for a text, `clean` for a text that leaves the
    process, `clean_data` for JSON-like data, `redact_log` for a log line.

    The application holds one for its configuration's keys (`Redactor(settings.secrets)`); the server
    process gives the same keys to its log filter.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        self._blocks: list[tuple[str, int, str]] = []  # (key, offset in the key, the block there)
        self._any_block: re.Pattern[str] | None = None  # any whole block of any known key: the cheap first test
        self.remember(secrets)

    def remember(self, secrets: Iterable[str]) -> None:
        """Add keys to those masked (shorter than `MIN_SECRET_CHARS`: ignored)."""
        for secret in secrets:
            if len(secret) >= MIN_SECRET_CHARS and secret not in self._known:
                self._known.add(secret)
                self._blocks.extend(
                    (secret, at, secret[at : at + _BLOCK_CHARS]) for at in range(0, len(secret), _BLOCK_CHARS)
                )
        # Longer keys first, so that a key containing another is masked as itself.
        self._blocks.sort(key=lambda block: len(block[0]), reverse=True)
        whole = sorted({block for _, _, block in self._blocks if len(block) == _BLOCK_CHARS})
        self._any_block = re.compile("|".join(map(re.escape, whole))) if whole else None

    def _key_runs(self, text: str) -> list[tuple[int, int, str]]:
        """Every run of at least PARTIAL_CHARS characters of a known key in `text`: (start, end, key)."""
        runs: list[tuple[int, int, str]] = []
        for key, offset, block in self._blocks:
            if len(block) < _BLOCK_CHARS:
                continue  # a key's short tail: any run reaching it also holds a whole block before it
            found = text.find(block)
            while found != -1:
                start, end = found, found + _BLOCK_CHARS
                back = offset
                while start > 0 and back > 0 and text[start - 1] == key[back - 1]:
                    start, back = start - 1, back - 1
                ahead = offset + _BLOCK_CHARS
                while end < len(text) and ahead < len(key) and text[end] == key[ahead]:
                    end, ahead = end + 1, ahead + 1
                if end - start >= PARTIAL_CHARS:
                    runs.append((start, end, key))
                found = text.find(block, end if end > found + 1 else found + 1)
        return runs

    def _mask_keys(self, text: str) -> str:
        # The hot path (every string of every result): one regex scan says whether any block is there at all.
        if len(text) < PARTIAL_CHARS or self._any_block is None or self._any_block.search(text) is None:
            return text
        runs = self._key_runs(text)
        if not runs:
            return text
        runs.sort(key=lambda run: (run[0], -run[1]))
        pieces: list[str] = []
        done = 0
        for start, end, key in runs:
            if end <= done:
                continue  # inside a run already masked
            pieces.append(text[done : max(start, done)])
            pieces.append(f"[key {key_hint(key)}]")
            done = end
        pieces.append(text[done:])
        return "".join(pieces)

    def redact(self, text: str) -> str:
        """`text` with every known key (and every run of PARTIAL_CHARS or more of its characters) replaced
        by its hint, URL passwords masked, and no echoed validation input."""
        if self._blocks:
            text = self._mask_keys(text)
        if "@" in text:
            text = _PASSWORD.sub(r"\1:***@", text)
        if "input_value=" in text:
            text = _INPUT_VALUE.sub("input_value=<hidden>", text)
        return text

    def clean(self, text: str) -> str:
        """What every text leaving the server becomes: encodable, and with no known key in it."""
        return self.redact(encodable(text))

    def clean_data(self, value: Any) -> Any:
        """`clean` applied to every string (keys included) inside JSON-like data."""
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, dict):
            return {self.clean_data(key): self.clean_data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.clean_data(item) for item in value]
        return value

    def redact_log(self, text: str) -> str:
        """`clean`, plus anything that looks like a credential."""
        return _CREDENTIALS.sub(r"\1[redacted]", self.clean(text))


def encodable(text: str) -> str:
    """`text` with each lone surrogate (valid JSON from a provider, deadly to a JSON writer) replaced by
    U+FFFD; a surrogate pair that stands for one character becomes that character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def encodable_data(value: Any) -> Any:
    """`encodable` applied to every string (keys included) inside JSON-like data."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {encodable_data(key): encodable_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encodable_data(item) for item in value]
    return value


def _mask_userinfo(match: re.Match[str]) -> str:
    user, password = match.group(1), match.group(2)
    if password is not None:
        return f"{user}:***@"
    return "***@" if user else "@"


def safe_url(url: str) -> str:
    """`url` fit to show: a password in it (`https://user:pass@host/v1`) becomes `***`, and a lone user
    name (`https://token@host`), which some services use as the credential, too.

    For example `safe_url("https://me:hunter2@gw.example/v1")` is `"https://me:***@gw.example/v1"`.
    """
    return _USERINFO.sub(_mask_userinfo, url) if "@" in url else url


def url_secrets(url: str) -> list[str]:
    """The credentials written into `url` (its password, or a lone user name), to mask like keys."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return []
    if parts.password:
        return [parts.password]
    return [parts.username] if parts.username else []


def safe_origin(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL (no user, path, query or fragment); None when
    `url` is relative, not http(s), or unreadable."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or not re.fullmatch(r"[a-z0-9.:\[\]_-]+", host):
        return None  # anything else could be text a hostile provider wants shown
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


class RedactingFilter(logging.Filter):
    """Masks secrets in each record's final message (and traceback) before any handler writes it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to the handler, which reports it safely
            return True
        cleaned = self.redactor.redact_log(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact_log(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
