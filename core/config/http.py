"""The HTTP mode's settings (`"http"` in credentials.json): who may call, and the web's hygiene.

A caller shows a bearer token; the configuration holds only its sha256, under the caller's name:
`"http": {"tokens": {"alice": "<sha256 hex>"}}`, or `JUNIOR_AI_TOKENS="alice:<sha256 hex>,bob:<...>"`
(which replaces the file's tokens). `python3 run.py serve --new-token alice` makes a token and prints the
line to paste. A presented token is hashed and compared with every stored hash in constant time.
`allowed_hosts` and `allowed_origins` add to the Host and Origin headers accepted (the bound address and
its localhost forms always are); `max_body_bytes` bounds a request's body (larger: 413); `metrics: false`
turns `GET /metrics` off.
`admins` names the callers who may see everyone's spend at `GET /dashboard` (any other caller sees their own);
each must be a token's name, unless OAuth is configured (its callers are named by their identity provider).
`drain_seconds` is how long calls in flight at SIGTERM may still take before they are cut (new connections
are refused at once); `access_log: false` turns off the one stderr line per request. `max_connections` bounds
the connections open at once, and `header_timeout_seconds` how long one may take to send a request's headers
(serve/http/connections.py).

`"oauth"` (OAuthSettings) makes the server an OAuth 2.1 resource server as well: a bearer token an identity
provider issued is checked by token introspection (serve/http/oauth.py). Its client secret may come from
`JUNIOR_AI_OAUTH_CLIENT_SECRET` instead of the file; it is a secret like an API key (masked in every log).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from core.resilience.rate_limits import MAX_CALLER_CHARS, RATE_PER_MINUTE

__all__ = [
    "DRAIN_SECONDS",
    "HEADER_TIMEOUT_S",
    "INTROSPECTION_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_CLIENT_CONNECTIONS",
    "OAUTH_CACHE_S",
    "OAUTH_SECRET_ENV",
    "TOKENS_ENV",
    "HttpSettings",
    "OAuthSettings",
    "identify",
    "new_token",
    "paste_lines",
    "token_hash",
]

TOKENS_ENV = "JUNIOR_AI_TOKENS"
MAX_BODY_BYTES = 4 * 1024 * 1024  # a prompt with files is well under this; larger requests are answered 413
DRAIN_SECONDS = 20  # a call in flight at SIGTERM may take this long to finish; under docker's 30 s stop grace
# Client connections open at once: well under the usual 1,024 file descriptors, with room for the AIs' pools.
MAX_CLIENT_CONNECTIONS = 256
HEADER_TIMEOUT_S = 10.0  # a connection that has not sent a whole request's headers by then is closed
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 characters
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
OAUTH_SECRET_ENV = "JUNIOR_AI_OAUTH_CLIENT_SECRET"
INTROSPECTION_TIMEOUT_S = 5.0  # an identity provider that has not answered by then is treated as down (503)
OAUTH_CACHE_S = 30.0  # a token found active is trusted this long (never past its exp) before it is asked again


class OAuthSettings(BaseModel):
    """The `"http": {"oauth": {...}}` block: the identity provider whose tokens are accepted, and how to ask
    it about one (RFC 7662 token introspection, authenticated as `client_id`).

    `resource` is this server's public URL (the MCP endpoint as clients reach it): a token must be issued
    for it (its `aud`), and the protected resource metadata names it. `identity_claim` is the claim that
    names the caller (threads and ledger rows); `required_scopes` must all be granted (else 403).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str
    introspection_endpoint: str
    client_id: str = Field(min_length=1, max_length=256)
    client_secret: SecretStr = Field(min_length=1)
    resource: str
    required_scopes: tuple[str, ...] = ()
    identity_claim: Literal["sub", "username", "client_id"] = "sub"
    # RFC 6749 §2.3.1: HTTP Basic (the default every provider must support), or the secret in the form.
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    # The MCP authorization spec: a server MUST check a token was issued for it. A provider whose
    # introspection answers carry no `aud` at all can only be used with this turned off.
    require_audience: bool = True
    timeout_s: float = Field(default=INTROSPECTION_TIMEOUT_S, gt=0, le=60)
    cache_s: float = Field(default=OAUTH_CACHE_S, ge=0, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _secret_named(cls, value: Any) -> Any:
        if isinstance(value, dict) and not value.get("client_secret"):
            raise ValueError(
                f"client_secret: missing; the secret the identity provider gave this server (client_id) for "
                f"introspection, in the file or {OAUTH_SECRET_ENV}"
            )
        return value

    @field_validator("issuer", "introspection_endpoint", "resource")
    @classmethod
    def _https_url(cls, value: str) -> str:
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise ValueError("not an absolute https:// URL")
        if parsed.scheme == "http" and not _is_loopback_name(parsed.hostname):
            raise ValueError("must be https:// (plain http only on loopback: localhost, 127.0.0.1, ::1)")
        if parsed.fragment or parsed.username or parsed.password:
            raise ValueError("must have no #fragment and no user:password@")
        return value.strip()

    @field_validator("required_scopes")
    @classmethod
    def _scope_tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for scope in value:
            if not scope or any(char.isspace() or char in '"\\' for char in scope):
                raise ValueError(f"{scope!r}: a scope is one word (no spaces, quotes or backslashes)")
        return value


class HttpSettings(BaseModel):
    """The `"http"` block: token hashes by caller name, extra allowed Hosts and Origins, the body limit,
    whether `GET /metrics` is served, the drain time at SIGTERM, whether requests are logged, and the limits
    on connections."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tokens: dict[str, str] = Field(default_factory=dict)
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024, le=1 << 30)
    metrics: bool = True
    # Shutting down: how long calls in flight at SIGTERM may still run; and the access log's one line per request.
    drain_seconds: int = Field(default=DRAIN_SECONDS, ge=0, le=3600)
    access_log: bool = True
    # The connections kept (serve/http/connections.py): how many at once, and how long headers may take.
    max_connections: int = Field(default=MAX_CLIENT_CONNECTIONS, ge=1, le=1_000_000)
    header_timeout_seconds: float = Field(default=HEADER_TIMEOUT_S, gt=0, le=3600, allow_inf_nan=False)
    oauth: OAuthSettings | None = None
    # Who sees everyone's spend at GET /dashboard (serve/http/dashboard.py); any other caller sees their own.
    admins: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _admins_are_callers(self) -> HttpSettings:
        # OAuth's callers are named by the identity provider, so any name may be one of them.
        unknown = [name for name in self.admins if name not in self.tokens] if self.oauth is None else []
        if unknown:
            known = ", ".join(sorted(self.tokens)) or "none configured"
            raise ValueError(
                f"admins: {', '.join(repr(name[:64]) for name in unknown)} named no token's caller; "
                f"an admin is the name of a caller in http.tokens (valid: {known})"
            )
        return self

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

    # Rate limits (serve/http/rate_limit.py): requests to /mcp per caller per minute, counted in the shared store.
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


def _is_loopback_name(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
