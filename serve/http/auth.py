"""Who may call `serve --http`: bearer tokens checked against the configuration's sha256 hashes (the caller's
name is the token's), and, with `http.oauth`, tokens an identity provider issued (serve/http/oauth.py),
through the SDK's own hooks (`TokenVerifier` + `AuthSettings`).

    callers = who_may_call(settings.http, host, port)   # None: anyone (loopback only, see app.exposure_problem)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from starlette.applications import Starlette

from core.config.http import HttpSettings, identify
from serve.http.oauth import resource_server

__all__ = ["Callers", "HashedTokens", "who_may_call"]


class HashedTokens(TokenVerifier):
    """The SDK's token verifier over the configuration's token hashes: a match is the caller's name."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = dict(tokens)

    async def verify_token(self, token: str) -> AccessToken | None:
        name = identify(self._tokens, token)
        return AccessToken(token=token, client_id=name, scopes=[]) if name is not None else None


@dataclass(frozen=True)
class Callers:
    """What the SDK's Streamable HTTP app takes to check callers, and what finishes the app (OAuth's
    protected-resource metadata)."""

    auth: AuthSettings
    verifier: TokenVerifier
    finish: Callable[[Starlette], Starlette]


def who_may_call(http: HttpSettings, host: str, port: int) -> Callers | None:
    """The checks for the configured callers: tokens, OAuth, or both (configured tokens are checked first,
    locally); None when neither is configured."""
    local = HashedTokens(http.tokens) if http.tokens else None
    if http.oauth is not None:
        oauth = resource_server(http.oauth, local)
        return Callers(oauth.auth, oauth.verifier, oauth.finish)
    if local is None:
        return None
    auth = AuthSettings(issuer_url=f"http://{host}:{port}", resource_server_url=None)  # type: ignore[arg-type]
    return Callers(auth, local, lambda app: app)
