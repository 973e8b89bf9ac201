"""OAuth 2.1 resource-server mode of `serve --http`: tokens an identity provider issued, checked by asking
it (RFC 7662 token introspection), as the MCP authorization spec describes.

- **Discovery.** The SDK serves the protected resource metadata (RFC 9728) at
  `/.well-known/oauth-protected-resource<path of resource>`, naming the resource, the issuer and the
  required scopes; a request without a good token is 401 with `WWW-Authenticate: Bearer ...,
  resource_metadata="<that URL>"`, so a client knows where to get a token.
- **Checking a token** (`judge`, serve/http/oauth_claims.py): the introspection answer must say `active:
  true`; `exp` (when given) not passed; `nbf` (when given) reached; `iss` (when given) the configured
  issuer; `aud` must name this server's `resource` (RFC 8707; required unless `require_audience` is off);
  the identity claim a usable name. Any of these failing is 401 `invalid_token`. Scopes are the SDK's
  check: a token lacking a required scope is 403 `insufficient_scope`.
- **The identity provider down** (unreachable, no answer within `timeout_s`, our client credentials
  refused, an answer that is not RFC 7662 JSON): the token was not found bad, so the request is 503 with
  `Retry-After`, not 401 (a 401 tells a client to throw its token away and sign in again).
- **Cache.** A token found good is trusted for `cache_s` (never past its `exp`), keyed by its sha256; at
  most `CACHE_ENTRIES` tokens. A refused token is asked about again each time. Requests arriving together
  with the same unknown token wait for one question, not one each.
- **With local tokens.** When `"tokens"` are configured too, a presented token is first looked up among
  their hashes (no network), then introspected; a local token carries the required scopes. A token name
  and an OAuth identity that are spelled the same are the same caller.

No token, secret or claim value is logged: a refusal's log line names the check that failed.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import anyio
import httpx2
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from starlette.applications import Starlette
from starlette.authentication import AuthenticationBackend, AuthenticationError
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse, Response

from core.config.http import OAuthSettings, token_hash
from core.redact import safe_url
from serve.http.oauth_claims import Granted, Refused, judge

__all__ = [
    "CACHE_ENTRIES",
    "RETRY_AFTER_S",
    "IntrospectionUnavailable",
    "IntrospectionVerifier",
    "LocalThenIntrospection",
    "ResourceServer",
    "resource_server",
]

logger = logging.getLogger("junior_ai.http.oauth")

CACHE_ENTRIES = 4096  # tokens remembered as good at once; the least recently used goes first
MAX_ANSWER_BYTES = 64 * 1024  # an introspection answer is a few hundred bytes; more is not one
RETRY_AFTER_S = 5  # what a 503 tells the client to wait before trying again


class IntrospectionUnavailable(AuthenticationError):
    """The identity provider could not say whether a token is good: it was unreachable, did not answer in
    time, refused this server's client credentials, or answered something that is not RFC 7662 JSON.
    Answered 503 (`unavailable_response`), not 401: the token itself was not found bad."""


class IntrospectionVerifier(TokenVerifier):
    """The SDK's token verifier over RFC 7662 token introspection, with a short cache of good tokens.

    One HTTP client, built here and closed by `aclose` (the app's lifespan does it at shutdown).
    """

    def __init__(
        self,
        oauth: OAuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._oauth = oauth
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Granted, float]] = OrderedDict()
        self._asking: dict[str, anyio.Lock] = {}  # the tokens being introspected now, by sha256
        self._http = httpx2.AsyncClient(
            timeout=oauth.timeout_s, follow_redirects=False, headers={"Accept": "application/json"}, transport=transport
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        """The caller `token` stands for, or None when it is not good here.

        Raises:
            IntrospectionUnavailable: The identity provider could not be asked (answered 503).
        """
        key = token_hash(token)
        granted = self._cached(key, self._clock())
        if granted is None:
            asking = self._asking.setdefault(key, anyio.Lock())
            try:
                async with asking:  # one question per token at a time; who waited finds the answer cached
                    now = self._clock()
                    granted = self._cached(key, now)
                    if granted is None:
                        verdict = judge(await self._introspect(token), self._oauth, now)
                        if isinstance(verdict, Refused):
                            logger.info("an OAuth bearer token was refused: %s", verdict.reason)
                            return None
                        granted = verdict
                        self._remember(key, granted, now)
            finally:
                if not asking.locked() and not asking.statistics().tasks_waiting:
                    self._asking.pop(key, None)
        return AccessToken(
            token=token,
            client_id=granted.identity,
            scopes=list(granted.scopes),
            expires_at=granted.expires_at,
            resource=self._oauth.resource,
            subject=granted.subject,
        )

    async def _introspect(self, token: str) -> dict[str, Any]:
        oauth = self._oauth
        form = {"token": token, "token_type_hint": "access_token"}
        auth: httpx2.BasicAuth | None = None
        secret = oauth.client_secret.get_secret_value()
        if oauth.client_auth == "client_secret_post":
            form |= {"client_id": oauth.client_id, "client_secret": secret}
        else:  # RFC 6749 §2.3.1: each form-encoded before Basic encoding
            auth = httpx2.BasicAuth(quote_plus(oauth.client_id), quote_plus(secret))
        body = b""
        with anyio.move_on_after(oauth.timeout_s) as waited:
            try:
                async with self._http.stream("POST", oauth.introspection_endpoint, data=form, auth=auth) as answer:
                    status = answer.status_code
                    async for chunk in answer.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_ANSWER_BYTES:
                            raise self._unavailable(f"answered more than {MAX_ANSWER_BYTES} bytes")
            except httpx2.HTTPError as error:
                raise self._unavailable(f"could not be reached ({type(error).__name__})") from None
        if waited.cancelled_caught:
            raise self._unavailable(f"gave no answer within {oauth.timeout_s:g} s (http.oauth.timeout_s)")
        if status in (400, 401, 403):
            raise self._unavailable(
                f"refused this server's client credentials (HTTP {status}): check http.oauth.client_id, "
                f"client_secret and client_auth ({oauth.client_auth})"
            )
        if status != 200:
            raise self._unavailable(f"answered HTTP {status}")
        try:
            claims = json.loads(body)
        except (ValueError, RecursionError):
            raise self._unavailable("answered something that is not JSON") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("active"), bool):
            raise self._unavailable("answered JSON without a boolean 'active' (RFC 7662 §2.2)")
        return claims

    def _unavailable(self, what: str) -> IntrospectionUnavailable:
        endpoint = safe_url(self._oauth.introspection_endpoint)
        logger.warning("token introspection at %s %s; the request is answered 503", endpoint, what)
        return IntrospectionUnavailable(f"the identity provider's introspection endpoint {what}")

    def _cached(self, key: str, now: float) -> Granted | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        granted, until = entry
        if now >= until:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return granted

    def _remember(self, key: str, granted: Granted, now: float) -> None:
        until = now + self._oauth.cache_s
        if granted.expires_at is not None:
            until = min(until, granted.expires_at)
        if until <= now:
            return
        self._cache[key] = (granted, until)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def __aenter__(self) -> IntrospectionVerifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class LocalThenIntrospection(TokenVerifier):
    """The configured tokens first (their hashes, no network: they keep working while the identity
    provider is down), then introspection. A local token is granted `scopes` (the required ones)."""

    def __init__(self, local: TokenVerifier, remote: TokenVerifier, scopes: Sequence[str]) -> None:
        self._local, self._remote, self._scopes = local, remote, list(scopes)

    async def verify_token(self, token: str) -> AccessToken | None:
        """The caller `token` stands for, or None.

        Raises:
            IntrospectionUnavailable: Not a local token, and the identity provider could not be asked.
        """
        access = await self._local.verify_token(token)
        if access is not None:
            return access.model_copy(update={"scopes": self._scopes})
        return await self._remote.verify_token(token)


def unavailable_response(_: HTTPConnection, error: AuthenticationError) -> Response:
    """The answer to a request whose token could not be checked: 503 with `Retry-After`, the OAuth error
    `temporarily_unavailable`. Any other authentication error keeps Starlette's 400."""
    if not isinstance(error, IntrospectionUnavailable):
        return PlainTextResponse(str(error), status_code=400)
    body = {"error": "temporarily_unavailable", "error_description": "the identity provider could not be asked"}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def _answering_503(entry: Middleware) -> Middleware:
    """`entry` again, or, when it is the bearer check, the same check answering 503 when introspection is down.

    Raises:
        TypeError: The SDK builds the bearer check differently than this was written for.
    """
    factory: object = entry.cls
    if factory is not AuthenticationMiddleware:
        return entry
    backend = dict(entry.kwargs)["backend"]  # how the SDK passes it (the 503 test holds it to that)
    if not isinstance(backend, AuthenticationBackend):
        raise TypeError("the SDK's AuthenticationMiddleware no longer takes its backend as `backend=`")
    return Middleware(AuthenticationMiddleware, backend=backend, on_error=unavailable_response)


@dataclass(frozen=True)
class ResourceServer:
    """What the HTTP app needs for OAuth: the SDK's auth settings and verifier, and `finish`, which gives
    the built app its 503 answer and closes the introspection client when the app shuts down."""

    auth: AuthSettings
    verifier: TokenVerifier
    introspection: IntrospectionVerifier

    def finish(self, app: Starlette) -> Starlette:
        """`app` (the SDK's Streamable HTTP app, not started yet), answering 503 when introspection is down
        and closing the introspection client at shutdown."""
        # The SDK builds Starlette's AuthenticationMiddleware without an error handler (any error: 400).
        app.user_middleware = [_answering_503(entry) for entry in app.user_middleware]
        inner, introspection = app.router.lifespan_context, self.introspection

        @asynccontextmanager
        async def lifespan(started: Starlette) -> AsyncIterator[Any]:
            async with introspection, inner(started) as state:
                yield state

        app.router.lifespan_context = lifespan
        return app


def resource_server(oauth: OAuthSettings, local: TokenVerifier | None) -> ResourceServer:
    """The OAuth resource server for `oauth`, trying `local` (the configured tokens) first when given."""
    introspection = IntrospectionVerifier(oauth)
    scopes = list(oauth.required_scopes)
    # As strings: the SDK keeps a path-less issuer as written (no slash added), and issuers compare exactly.
    auth = AuthSettings.model_validate(
        {
            "issuer_url": oauth.issuer,
            "resource_server_url": oauth.resource,
            "required_scopes": scopes or None,
            "validate_token_resource": False,  # `judge` checks the audience itself (local tokens have none)
        }
    )
    verifier = introspection if local is None else LocalThenIntrospection(local, introspection, scopes)
    return ResourceServer(auth=auth, verifier=verifier, introspection=introspection)
