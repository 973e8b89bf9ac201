"""The HTTP mode's settings (`"http"` in credentials.json): who may call, and the web's hygiene.

A caller shows a bearer token; the configuration holds only its sha256, under the caller's name:
`"http": {"tokens": {"alice": "<sha256 hex>"}}`, or `JUNIOR_AI_TOKENS="alice:<sha256 hex>,bob:<...>"`
(which replaces the file's tokens). `python3 run.py serve --new-token alice` makes a token and prints the
line to paste. A presented token is hashed and compared with every stored hash in constant time.
`allowed_hosts` and `allowed_origins` add to the Host and Origin headers accepted (the bound address and
its localhost forms always are); `max_body_bytes` bounds a request's body (larger: 413); `metrics: false`
turns `GET /metrics` off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.rates import MAX_CALLER_CHARS, RATE_PER_MINUTE

__all__ = [
    "MAX_BODY_BYTES",
    "TOKENS_ENV",
    "HttpSettings",
    "identify",
    "new_token",
    "paste_lines",
    "token_hash",
]

TOKENS_ENV = "JUNIOR_AI_TOKENS"
MAX_BODY_BYTES = 4 * 1024 * 1024  # a prompt with files is well under this; larger requests are answered 413
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 characters
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class HttpSettings(BaseModel):
    """The `"http"` block: token hashes by caller name, extra allowed Hosts and Origins, the body limit,
    and whether `GET /metrics` is served."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tokens: dict[str, str] = Field(default_factory=dict)
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024, le=1 << 30)
    metrics: bool = True

    @field_validator("tokens", mode="before")
    @classmethod
    def _tokens_from_env(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        tokens: dict[str, str] = {}  # the environment's form: "alice:<hex>,bob:<hex>"
        for position, entry in enumerate((part.strip() for part in value.split(",")), start=1):
            if not entry:
                continue
            name, colon, digest = entry.partition(":")
            if not colon:
                raise ValueError(f"entry {position} is not name:<sha256 hex>")
            if name.strip() in tokens:
                raise ValueError(f"{name.strip()}: named twice")
            tokens[name.strip()] = digest.strip()
        return tokens

    @field_validator("tokens")
    @classmethod
    def _hashes_only(cls, value: dict[str, str]) -> dict[str, str]:
        checked: dict[str, str] = {}
        for name, digest in value.items():
            if not _TOKEN_NAME.match(name):
                raise ValueError(f"{name[:64]!r}: a name is letters, digits, '_', '.', '@' or '-' (at most 64)")
            if not _SHA256_HEX.match(digest.lower()):
                # Never echo the value: a token pasted where its hash goes would end up in a log.
                raise ValueError(
                    f"{name}: not a sha256 hex digest (64 hex digits); paste the hash that "
                    f"`python3 run.py serve --new-token {name}` prints, never the token itself"
                )
            if digest.lower() in checked.values():
                raise ValueError(f"{name}: the same hash as another name; give each caller a token of its own")
            checked[name] = digest.lower()
        return checked

    # Rate limits (tools/http_limits.py): requests to /mcp per caller per minute, counted in the shared store.
    # `rate_per_minute`: everyone's (null: no limit); `rate_limits`: some callers' own ({"ci": 600, "ops": null}).
    rate_per_minute: int | None = RATE_PER_MINUTE
    rate_limits: dict[str, int | None] = Field(default_factory=dict)

    @field_validator("rate_per_minute", mode="before")
    @classmethod
    def _a_rate(cls, value: Any) -> Any:
        return _rate(value)

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _rates_by_caller(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic says what is expected
        for name in value:
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_CALLER_CHARS:
                raise ValueError(f"{str(name)[:64]!r}: a caller's name (a token's name), 1 to {MAX_CALLER_CHARS} long")
        return {name: _rate(rate, name) for name, rate in value.items()}

    def rate_limit_for(self, caller: str) -> int | None:
        """Requests per minute `caller` may send: their own limit if they have one, else everyone's (None: no
        limit)."""
        return self.rate_limits[caller] if caller in self.rate_limits else self.rate_per_minute


def _rate(value: Any, name: str | None = None) -> int | None:
    """A rate setting's value: a whole number of requests per minute, at least 1, or None (no limit)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    if isinstance(value, float) and value.is_integer() and value >= 1:
        return int(value)
    # Text is not echoed: whatever was pasted here (a token?) must not reach a log.
    shown = repr(value) if isinstance(value, int | float) else f"a {type(value).__name__}"
    raise ValueError(
        f"{name + ': ' if name else ''}{shown} is not a rate; give whole requests per minute (at least 1), "
        "or null for no limit"
    )


def token_hash(token: str) -> str:
    """The sha256 hex digest the configuration holds for `token`."""
    return hashlib.sha256(token.encode("utf-8", errors="surrogateescape")).hexdigest()


def identify(tokens: Mapping[str, str], presented: str) -> str | None:
    """The name whose stored hash matches `presented`'s, or None. Every hash is compared, each in constant
    time, so how long this takes says nothing about which (or how much of one) matched."""
    digest = token_hash(presented)
    found: str | None = None
    for name, stored in tokens.items():
        if hmac.compare_digest(digest, stored) and found is None:
            found = name
    return found


def new_token() -> str:
    """A new random bearer token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def paste_lines(name: str, token: str) -> list[str]:
    """How to configure `token` for `name`: the credentials.json entry, or the environment variable."""
    digest = token_hash(token)
    block = json.dumps({"http": {"tokens": {name: digest}}})
    return [f"credentials.json: {block}", f'or the environment: {TOKENS_ENV}="{name}:{digest}"']
