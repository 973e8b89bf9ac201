"""OAuth resource-server mode: a real `serve --http` that checks tokens by introspection against a loopback
fake identity provider, driven by the SDK's Streamable HTTP client; the verifier against the same fake; the
claim checks as pure functions."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from core.config.credentials import PROJECT_ROOT
from core.config.http import HttpSettings, OAuthSettings, token_hash
from core.config.settings import settings_or_problems
from core.store.database import Store
from core.store.schema import ledger, threads
from core.store.url import store_url
from serve.http.app import exposure_problem
from serve.http.oauth import IntrospectionUnavailable, IntrospectionVerifier
from serve.http.oauth_claims import Granted, Refused, audience_includes, identity_of, judge, scopes_of
from tests.fakes import FakeProvider
from tests.fakes.idp import CLIENT_ID, CLIENT_SECRET, FakeIdP
from tests.helpers import answer_of, closed_port, credentials_for, write_credentials
from tests.serve.test_http import ACCEPT, CANARY, LIST, HttpServer, server_env

pytestmark = pytest.mark.anyio

RESOURCE = "https://junior.example/mcp"  # the public URL, as behind a TLS proxy
METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"  # RFC 9728 §3.1: the well-known prefix, then /mcp
SCOPE = "mcp:tools"
NOW = 1_900_000_000.0


def oauth_block(idp: FakeIdP, **changes: Any) -> dict[str, Any]:
    return {
        "issuer": idp.issuer,
        "introspection_endpoint": idp.introspection_endpoint,
        "client_id": CLIENT_ID,
        "resource": RESOURCE,
        "required_scopes": [SCOPE],
        "timeout_s": 1,
        **changes,
    }


def claims(idp: FakeIdP | None = None, **changes: Any) -> dict[str, Any]:
    """A good token's introspection answer, for carol."""
    return {
        "active": True,
        "sub": "carol",
        "username": "carol.c@example.org",
        "client_id": "claude-desktop",
        "scope": f"openid {SCOPE}",
        "aud": [RESOURCE],
        "iss": idp.issuer if idp else "https://idp.example",
        "exp": int(time.time()) + 3600,
        **changes,
    }


# -- a real server --------------------------------------------------------------------------------------

CAROL = "carol-opaque-token-3b9e61d0c4a2f857"
TOKENS = {
    CAROL: {},
    "expired-token-0000000000000000": {"exp": int(time.time()) - 10},
    "other-audience-token-00000000000": {"aud": "https://other.example/mcp"},
    "no-scope-token-000000000000000000": {"scope": "openid"},
}


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdP]:
    with FakeIdP() as fake_idp:
        fake_idp.tokens = {token: claims(fake_idp, **changes) for token, changes in TOKENS.items()}
        yield fake_idp


@contextmanager
def oauth_server(idp: FakeIdP, provider: FakeProvider, tmp_path: Path) -> Iterator[HttpServer]:
    """A server accepting the fake identity provider's tokens (secret from the environment) and alice's
    configured token; stopped at the end, its log checked for every token and the client secret."""
    body = {**credentials_for(provider, ("grok",)), "http": {"oauth": oauth_block(idp)}}
    credentials = write_credentials(tmp_path / "credentials.json", body)
    env = server_env(
        tmp_path,
        credentials,
        JUNIOR_AI_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
        JUNIOR_AI_TOKENS=f"alice:{token_hash(CANARY)}",
    )
    server = HttpServer(env)
    try:
        server.wait_ready()
        yield server
    finally:
        log = server.stop()
        for secret in (CAROL, CANARY, CLIENT_SECRET, *TOKENS):
            assert secret not in log, log
        assert "Traceback" not in log, log
        assert f"callers: alice, holders of {idp.issuer}'s tokens" in log, log


@pytest.fixture(scope="module")
def served(idp: FakeIdP, _provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    with oauth_server(idp, _provider, tmp_path_factory.mktemp("oauth")) as server:
        yield server


async def stored(tmp_path: Path, query: Any) -> list[tuple[Any, ...]]:
    """What `query` finds in the store of the server that ran in `tmp_path` (SQLite, in its data directory)."""
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    async with (
        Store(store_url(settings_or_problems(tmp_path / "credentials.json", env), env)) as store,
        store.read() as conn,
    ):
        return [tuple(row) for row in (await conn.execute(query)).all()]


async def post_list(served: HttpServer, token: str | None) -> httpx2.Response:
    headers = {**ACCEPT, **({"Authorization": f"Bearer {token}"} if token else {})}
    with anyio.fail_after(15):
        async with httpx2.AsyncClient(timeout=30) as http:
            return await http.post(f"{served.url}/mcp", json=LIST, headers=headers)


async def test_no_token_is_401_pointing_at_the_protected_resource_metadata(served: HttpServer) -> None:
    response = await post_list(served, None)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    assert f'resource_metadata="https://junior.example{METADATA_PATH}"' in challenge


async def test_the_protected_resource_metadata_names_the_resource_the_issuer_and_the_scopes(
    served: HttpServer, idp: FakeIdP
) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.get(f"{served.url}{METADATA_PATH}")
    assert response.status_code == 200, response.text
    metadata = response.json()
    assert metadata["resource"] == RESOURCE
    assert metadata["authorization_servers"] == [idp.issuer]
    assert metadata["scopes_supported"] == [SCOPE]
    assert CLIENT_SECRET not in response.text


async def test_carol_with_an_active_token_asks_an_ai_and_the_ledger_and_threads_name_her(
    idp: FakeIdP, fake: FakeProvider, tmp_path: Path
) -> None:
    with oauth_server(idp, fake, tmp_path) as server, anyio.fail_after(60):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {CAROL}"}, timeout=30) as http,
            Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as carol,
        ):
            tools = await carol.list_tools()
            answer = await carol.call_tool("ask_ai", {"ai": "grok", "prompt": "carol asks"})
            thread = (answer.structured_content or {})["continuation_id"]
            hers = await carol.call_tool("threads", {})
    assert "ask_ai" in {tool.name for tool in tools.tools}
    assert answer_of(answer.content[0].text) == "[grok:grok-3-mini] carol asks"  # type: ignore[union-attr]
    assert [t["id"] for t in (hers.structured_content or {})["threads"]] == [thread]
    assert await stored(tmp_path, select(threads.c.owner)) == [("carol",)]
    assert await stored(tmp_path, select(ledger.c.caller, ledger.c.thread_id)) == [("carol", thread)]


async def test_a_configured_token_still_works_beside_oauth(served: HttpServer) -> None:
    assert (await post_list(served, CANARY)).status_code == 200


@pytest.mark.parametrize(
    ("token", "status", "error"),
    [
        pytest.param("never-issued-token-00000000000000", 401, "invalid_token", id="inactive"),
        pytest.param("expired-token-0000000000000000", 401, "invalid_token", id="expired"),
        pytest.param("other-audience-token-00000000000", 401, "invalid_token", id="wrong audience"),
        pytest.param("no-scope-token-000000000000000000", 403, "insufficient_scope", id="missing scope"),
        pytest.param(CAROL, 200, None, id="good"),
    ],
)
async def test_tokens_the_identity_provider_does_not_vouch_for_are_refused(
    served: HttpServer, token: str, status: int, error: str | None
) -> None:
    response = await post_list(served, token)
    assert response.status_code == status, response.text
    if error is not None:
        assert f'error="{error}"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("failure", ["hang", "garbage", "no-active", "error"])
async def test_an_identity_provider_that_cannot_answer_makes_it_503_not_a_hang(
    served: HttpServer, idp: FakeIdP, failure: Any
) -> None:
    idp.answer = failure
    try:
        with anyio.fail_after(10):  # timeout_s is 1
            response = await post_list(served, f"fresh-token-while-{failure}-0123456789")
    finally:
        idp.answer = None
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"
    assert (await post_list(served, CAROL)).status_code == 200, "the server is fine afterwards"


def test_a_non_loopback_address_with_oauth_only_may_start(tmp_path: Path, idp: FakeIdP) -> None:
    path = write_credentials(tmp_path / "c.json", {"http": {"oauth": oauth_block(idp, client_secret="s3cret")}})
    settings = settings_or_problems(path, env={})
    assert settings.problems == ()
    assert exposure_problem("0.0.0.0", settings) is None


# -- the configuration ---------------------------------------------------------------------------------


def test_the_client_secret_comes_from_the_file_or_the_environment_and_is_a_secret(tmp_path: Path) -> None:
    block = {"issuer": "https://idp.example", "introspection_endpoint": "https://idp.example/introspect"}
    block |= {"client_id": "rs", "resource": RESOURCE, "client_secret": "from-the-file-0123456789"}
    path = write_credentials(tmp_path / "c.json", {"http": {"oauth": block}})
    from_file = settings_or_problems(path, env={})
    from_env = settings_or_problems(path, env={"JUNIOR_AI_OAUTH_CLIENT_SECRET": "from-the-env-0123456789"})
    assert from_file.http.oauth is not None and from_env.http.oauth is not None
    assert from_file.http.oauth.client_secret.get_secret_value() == "from-the-file-0123456789"
    assert from_env.http.oauth.client_secret.get_secret_value() == "from-the-env-0123456789"
    assert "from-the-env-0123456789" in from_env.secrets
    assert "from-the-env-0123456789" not in repr(from_env.http)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"issuer": "http://idp.example"}, "http.oauth.issuer: Value error, must be https://"),
        ({"introspection_endpoint": "idp/introspect"}, "http.oauth.introspection_endpoint: Value error, not an"),
        ({"resource": "https://junior.example/mcp#x"}, "http.oauth.resource: Value error, must have no #fragment"),
        ({"identity_claim": "email"}, "http.oauth.identity_claim: Input should be 'sub', 'username' or 'client_id'"),
        ({"required_scopes": ["a b"]}, "http.oauth.required_scopes: Value error, 'a b': a scope is one word"),
        ({"client_secret": None}, "http.oauth: Value error, client_secret: missing; the secret the identity"),
    ],
)
def test_a_bad_oauth_block_is_a_problem_naming_the_field_and_never_the_secret(
    tmp_path: Path, changes: dict[str, Any], named: str
) -> None:
    block = {"issuer": "https://idp.example", "introspection_endpoint": "https://idp.example/introspect"}
    block |= {"client_id": "rs", "resource": RESOURCE, "client_secret": CLIENT_SECRET, **changes}
    block = {key: value for key, value in block.items() if value is not None}
    [problem] = settings_or_problems(
        write_credentials(tmp_path / "c.json", {"http": {"oauth": block}}), env={}
    ).problems
    assert named in problem and CLIENT_SECRET not in problem


def test_the_documented_configuration_is_valid() -> None:
    page = (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    section = page[page.index("## OAuth: tokens from your identity provider") :]
    block = section[section.index("```json") + len("```json") : section.index("```\n", section.index("```json") + 7)]
    oauth = HttpSettings.model_validate(json.loads("{" + block + "}")["http"]).oauth
    assert oauth is not None and oauth.resource == RESOURCE


# -- the verifier, against the fake identity provider ---------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_the_verifier_names_the_caller_by_the_configured_claim_and_caches_a_good_token(
    idp: FakeIdP, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="junior_ai.http.oauth")
    clock = Clock()
    oauth = OAuthSettings.model_validate(oauth_block(idp, client_secret=CLIENT_SECRET, identity_claim="username"))
    token = "cached-token-0a1b2c3d4e5f6a7b8c9d"
    idp.tokens[token] = claims(idp, exp=int(clock.now) + 45)
    asked = len(idp.methods)
    async with IntrospectionVerifier(oauth, clock=clock) as verifier:
        first = await verifier.verify_token(token)
        clock.now += 29  # within cache_s (30)
        again = await verifier.verify_token(token)
        assert len(idp.methods) == asked + 1
        clock.now += 2  # past cache_s: asked again
        await verifier.verify_token(token)
        assert len(idp.methods) == asked + 2
        clock.now += 14  # at exp: never trusted past it, and the provider's answer is judged expired
        assert await verifier.verify_token(token) is None
    assert caplog.messages == ["an OAuth bearer token was refused: it has expired (exp)"]
    assert first is not None and again is not None
    assert (first.client_id, first.scopes, first.resource) == ("carol.c@example.org", ["openid", SCOPE], RESOURCE)
    assert first.subject == "carol" and again.client_id == first.client_id
    assert idp.methods[asked:] == ["basic"] * 3


async def test_requests_arriving_together_with_one_new_token_ask_the_identity_provider_once(idp: FakeIdP) -> None:
    oauth = OAuthSettings.model_validate(oauth_block(idp, client_secret=CLIENT_SECRET))
    token = "shared-ci-token-5d4c3b2a1f0e9d8c7b"
    idp.tokens[token] = claims(idp)
    asked, found = len(idp.methods), []
    async with IntrospectionVerifier(oauth) as verifier:

        async def verify() -> None:
            found.append(await verifier.verify_token(token))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(verify)
        assert verifier._asking == {}  # nothing left behind
    assert len(idp.methods) == asked + 1
    assert [access.client_id if access else None for access in found] == ["carol"] * 20


async def test_the_verifier_can_send_its_secret_in_the_form_and_refuses_an_unknown_token(idp: FakeIdP) -> None:
    oauth = OAuthSettings.model_validate(
        oauth_block(idp, client_secret=CLIENT_SECRET, client_auth="client_secret_post")
    )
    async with IntrospectionVerifier(oauth) as verifier:
        access = await verifier.verify_token(CAROL)
        assert await verifier.verify_token("unknown-token-9f8e7d6c5b4a") is None
    assert access is not None and access.client_id == "carol"
    assert idp.methods[-2:] == ["post", "post"]


@pytest.mark.parametrize(
    ("endpoint", "secret", "why"),
    [
        pytest.param(None, "not-the-secret", "refused this server's client credentials", id="wrong secret"),
        pytest.param(f"http://127.0.0.1:{closed_port()}/introspect", CLIENT_SECRET, "could not be reached", id="down"),
    ],
)
async def test_an_identity_provider_that_cannot_be_asked_is_unavailable(
    idp: FakeIdP, endpoint: str | None, secret: str, why: str
) -> None:
    block = oauth_block(idp, client_secret=secret) | ({"introspection_endpoint": endpoint} if endpoint else {})
    async with IntrospectionVerifier(OAuthSettings.model_validate(block)) as verifier:
        with anyio.fail_after(10), pytest.raises(IntrospectionUnavailable, match=why) as raised:
            await verifier.verify_token(CAROL)
    assert CAROL not in str(raised.value) and secret not in str(raised.value)


# -- the claim checks ----------------------------------------------------------------------------------

SETTINGS = OAuthSettings(
    issuer="https://idp.example",
    introspection_endpoint="https://idp.example/introspect",
    client_id="rs",
    client_secret="s",  # type: ignore[arg-type]
    resource=RESOURCE,
)


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"active": False}, "not active"),
        ({"active": "true"}, "not active"),
        ({"exp": NOW - 1}, "expired"),
        ({"exp": NOW}, "expired"),
        ({"exp": "tomorrow"}, "exp is not a number"),
        ({"exp": float("inf")}, "exp is not a number"),
        ({"nbf": NOW + 3600}, "not valid yet"),
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"aud": "https://other.example/mcp"}, "another audience"),
        ({"aud": ["account", "https://junior.example/other"]}, "another audience"),
        ({"aud": 7}, "another audience"),
        ({"aud": None}, "another audience"),
        ({"sub": None}, "'sub' claim is missing"),
        ({"sub": "x" * 65}, "'sub' claim is missing or not a name of 1 to 64"),
        ({"sub": "bad\nname"}, "'sub' claim is missing or not a name"),
    ],
)
def test_judge_refuses(changes: dict[str, Any], refused: str) -> None:
    verdict = judge(claims(exp=NOW + 60) | changes, SETTINGS, NOW)
    assert isinstance(verdict, Refused) and refused in verdict.reason


def test_judge_refuses_a_token_without_an_audience_unless_told_not_to() -> None:
    answer = {key: value for key, value in claims(exp=NOW + 60).items() if key != "aud"}
    assert "names no audience" in judge(answer, SETTINGS, NOW).reason  # type: ignore[union-attr]
    lenient = SETTINGS.model_copy(update={"require_audience": False})
    assert isinstance(judge(answer, lenient, NOW), Granted)


@pytest.mark.parametrize(
    ("changes", "granted"),
    [
        ({}, Granted("carol", ("openid", SCOPE), int(NOW) + 60, "carol")),
        ({"aud": "HTTPS://Junior.Example:443/mcp/"}, Granted("carol", ("openid", SCOPE), int(NOW) + 60, "carol")),
        ({"exp": None, "scope": None, "iss": None}, Granted("carol", (), None, "carol")),
        ({"nbf": NOW + 30}, Granted("carol", ("openid", SCOPE), int(NOW) + 60, "carol")),  # within the clock skew
    ],
)
def test_judge_grants(changes: dict[str, Any], granted: Granted) -> None:
    answer = {key: value for key, value in (claims(exp=NOW + 60) | changes).items() if value is not None}
    assert judge(answer, SETTINGS, NOW) == granted


@pytest.mark.parametrize(
    ("scope", "scopes"),
    [("a b  c", ("a", "b", "c")), ("", ()), (None, ()), (["a", "b c", 3, ""], ("a",)), (5, ())],
)
def test_scopes_of(scope: Any, scopes: tuple[str, ...]) -> None:
    assert scopes_of(scope) == scopes


@pytest.mark.parametrize(
    ("aud", "included"),
    [
        (RESOURCE, True),
        ([RESOURCE], True),
        (["x", RESOURCE + "/"], True),
        ("https://junior.example", False),
        ("https://junior.example/mcp/extra", False),
        ("http://junior.example/mcp", False),
        ([], False),
        ({"aud": RESOURCE}, False),
    ],
)
def test_audience_includes(aud: Any, included: bool) -> None:
    assert audience_includes(aud, RESOURCE) is included


@pytest.mark.parametrize(
    ("value", "name"),
    [("carol", "carol"), ("  carol  ", "carol"), ("", None), ("x" * 64, "x" * 64), (42, None), ("a\tb", None)],
)
def test_identity_of(value: Any, name: str | None) -> None:
    assert identity_of({"sub": value}, "sub") == name


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="no token"),
        pytest.param("never-issued-token-00000000000000", id="inactive"),
        pytest.param("no-scope-token-000000000000000000", id="missing scope"),
        pytest.param(CAROL, id="good"),
    ],
)
async def test_the_dashboard_refuses_and_admits_exactly_as_mcp_does(served: HttpServer, token: str | None) -> None:
    mcp = await post_list(served, token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with anyio.fail_after(15):
        async with httpx2.AsyncClient(timeout=30) as http:
            dashboard = await http.get(f"{served.url}/dashboard.json", headers=headers)
    assert dashboard.status_code == mcp.status_code, dashboard.text
    assert dashboard.headers.get("WWW-Authenticate") == mcp.headers.get("WWW-Authenticate")
    if token == CAROL:  # no admin is configured: carol sees her own spend, and nobody else is named
        spend = dashboard.json()["structuredContent"]["spend"]
        assert all(line["caller"] == "carol" for line in spend["callers_today"] + spend["callers_last_7_days"])
        assert "alice" not in dashboard.text
