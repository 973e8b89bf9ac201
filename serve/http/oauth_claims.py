"""What makes a token good here: the checks of an RFC 7662 introspection answer, as pure functions.

`judge` takes the answer (`active` known to be a boolean) and gives what the token grants (`Granted`: the
caller's name, scopes, expiry) or why it is refused (`Refused`: the check that failed, never a claim's
value, as it goes to the log). serve/http/oauth.py asks the identity provider and calls it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import AnyHttpUrl, ValidationError

from core.config.http import OAuthSettings

__all__ = [
    "CLOCK_SKEW_S",
    "MAX_IDENTITY_CHARS",
    "Granted",
    "Refused",
    "audience_includes",
    "identity_of",
    "judge",
    "scopes_of",
]

MAX_IDENTITY_CHARS = 64  # the store's caller column (ledger rows, thread owners)
CLOCK_SKEW_S = 60.0  # `nbf` a little in the future is our clock's fault, not the token's


@dataclass(frozen=True)
class Granted:
    """What a good token grants: who the caller is, the scopes, when it expires."""

    identity: str
    scopes: tuple[str, ...]
    expires_at: int | None
    subject: str | None


@dataclass(frozen=True)
class Refused:
    """Why a token was refused: the check that failed, never a claim's value (it goes to the log)."""

    reason: str


def scopes_of(scope: Any) -> tuple[str, ...]:
    """The scopes of an introspection answer's `scope`: a space-separated string (RFC 7662), or, as some
    providers send it, a list of strings. Anything else grants none."""
    if isinstance(scope, str):
        return tuple(scope.split())
    if isinstance(scope, list):
        return tuple(item for item in scope if isinstance(item, str) and item and not any(c.isspace() for c in item))
    return ()


def _same_url(left: str, right: str) -> bool:
    """Whether two URLs name the same thing: case of scheme and host, a default port and a trailing slash
    aside (as the SDK compares a token's resource). A value that is not a URL must match exactly."""
    try:
        left_url, right_url = str(AnyHttpUrl(left)), str(AnyHttpUrl(right))
    except ValidationError:
        return left == right
    return left_url.removesuffix("/") == right_url.removesuffix("/")


def audience_includes(aud: Any, resource: str) -> bool:
    """Whether `aud` (a string or a list of strings) names `resource`."""
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return any(isinstance(item, str) and _same_url(item, resource) for item in audiences)


def identity_of(claims: Mapping[str, Any], claim: str) -> str | None:
    """The caller's name from `claims[claim]`: a string of 1 to 64 printable characters, else None."""
    value = claims.get(claim)
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not 0 < len(name) <= MAX_IDENTITY_CHARS or not name.isprintable():
        return None
    return name


def _time(value: Any) -> float | None:
    """A NumericDate claim as a finite number, or None when it is anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def judge(claims: Mapping[str, Any], oauth: OAuthSettings, now: float) -> Granted | Refused:
    """Whether an introspection answer (`active` already known to be a boolean) makes a token good here.

    Args:
        claims: The answer's JSON object.
        oauth: The configuration: the issuer, this server's resource, the identity claim.
        now: The current time, in seconds since the epoch.

    Returns:
        What the token grants, or why it is refused.
    """
    if claims.get("active") is not True:
        return Refused("the identity provider says it is not active")
    for name in ("exp", "nbf"):
        if name in claims and _time(claims[name]) is None:
            return Refused(f"its {name} is not a number")
    expires = _time(claims.get("exp"))
    if expires is not None and expires <= now:
        return Refused("it has expired (exp)")
    not_before = _time(claims.get("nbf"))
    if not_before is not None and not_before > now + CLOCK_SKEW_S:
        return Refused("it is not valid yet (nbf)")
    issuer = claims.get("iss")
    if issuer is not None and not (isinstance(issuer, str) and _same_url(issuer, oauth.issuer)):
        return Refused("another issuer issued it (iss)")
    if "aud" in claims:
        if not audience_includes(claims["aud"], oauth.resource):
            return Refused("it was issued for another audience (aud does not name http.oauth.resource)")
    elif oauth.require_audience:
        return Refused("it names no audience (aud), so it may be meant for another server (require_audience)")
    identity = identity_of(claims, oauth.identity_claim)
    if identity is None:
        present = ", ".join(sorted(name for name in claims if isinstance(claims[name], str))) or "none"
        return Refused(
            f"its {oauth.identity_claim!r} claim is missing or not a name of 1 to {MAX_IDENTITY_CHARS} "
            f"printable characters (http.oauth.identity_claim; its string claims: {present})"
        )
    subject = claims.get("sub")
    return Granted(
        identity=identity,
        scopes=scopes_of(claims.get("scope")),
        expires_at=int(expires) if expires is not None else None,
        subject=subject if isinstance(subject, str) else None,
    )
