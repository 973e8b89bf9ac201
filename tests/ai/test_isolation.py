"""Each AI gets only its own settings, and no redirect is followed: through the real openai and
google-genai SDKs, over real HTTP, to recording servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from ai.async_client import build_async_ai_client
from ai.caller import call_ai_async
from ai.sync_client import create_ai_client
from core import ai_clients
from core.config.settings import load_settings
from core.errors import Redirected
from core.resilience.retry import should_retry
from tests.fakes.recorder import Recorder, Request
from tests.helpers import FAST_RETRIES, write_credentials

pytestmark = pytest.mark.anyio

OWN_KEYS = {
    "openai": "sk-own-key-of-openai-0123456789",
    "gemini": "own-key-of-gemini-0123456789",
    "grok": "xai-own-key-of-grok-0123456789",
}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def ambient(tmp_path: Path, decoy: Recorder) -> dict[str, str]:
    """Every variable the SDKs (and httpx) would read by themselves, set to a value that must not
    leave the process, except where it is the AI's own setting."""
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine 127.0.0.1 login canary-netrc-login password canary-netrc-password\n"
        "default login canary-netrc-default password canary-netrc-default-password\n"
    )
    netrc.chmod(0o600)
    return {
        "OPENAI_ORG_ID": "org-canary-openai-organization",
        "OPENAI_PROJECT_ID": "proj-canary-openai-project",
        "OPENAI_ADMIN_KEY": "canary-openai-admin-key-0123456789",
        "OPENAI_WEBHOOK_SECRET": "canary-openai-webhook-secret",
        "OPENAI_CUSTOM_HEADERS": "X-Canary: canary-custom-header\nAuthorization: Bearer canary-custom-authorization",
        "GOOGLE_API_KEY": "canary-google-api-key-0123456789",
        "GOOGLE_GENAI_USE_VERTEXAI": "true",
        "GOOGLE_GENAI_USE_ENTERPRISE": "true",
        "GOOGLE_CLOUD_PROJECT": "canary-google-cloud-project",
        "GOOGLE_CLOUD_LOCATION": "canary-google-cloud-location",
        "GOOGLE_GENAI_API_VERSION": "canary-api-version",
        "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "canary-application-credentials.json"),
        "GOOGLE_GEMINI_BASE_URL": decoy.url("/canary-gemini-base-url"),
        "GOOGLE_VERTEX_BASE_URL": decoy.url("/canary-vertex-base-url"),
        "GOOGLE_GENAI_CLIENT_MODE": "replay",
        "GOOGLE_GENAI_REPLAYS_DIRECTORY": str(tmp_path / "canary-replays"),
        "GOOGLE_GENAI_REPLAY_ID": "canary-replay-id",
        "NETRC": str(netrc),
    }


def canaries(env: dict[str, str]) -> list[str]:
    """The values that must not be sent (netrc's would arrive base64-encoded in an Authorization header,
    which the tests compare whole)."""
    words = [value for value in env.values() if "canary" in value and "\n" not in value]
    return [*words, "canary-custom-header", "canary-custom-authorization", "canary-netrc"]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


@pytest.fixture
def decoy() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def by_ai(requests: list[Request]) -> dict[str, list[Request]]:
    grouped: dict[str, list[Request]] = {}
    for request in requests:
        grouped.setdefault(request.path.split("/")[1], []).append(request)
    return grouped


async def test_each_ai_sends_only_its_own_key_and_settings_whatever_the_environment_holds(
    recorder: Recorder, decoy: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = ambient(tmp_path, decoy)
    own = {
        "OPENAI_API_KEY": OWN_KEYS["openai"],
        "OPENAI_BASE_URL": recorder.url("/openai/v1"),
        "GEMINI_API_KEY": OWN_KEYS["gemini"],  # chosen over GOOGLE_API_KEY, which the SDK would prefer
        "GEMINI_BASE_URL": recorder.url("/gemini"),
        "XAI_API_KEY": OWN_KEYS["grok"],
        "GROK_BASE_URL": recorder.url("/grok/v1"),
        "JUNIOR_AI_CUSTOM_AIS": "ollama",
        "OLLAMA_BASE_URL": recorder.url("/ollama/v1"),
        "OLLAMA_MODEL": "llama3.2",
    }
    for name, value in (env | own).items():
        monkeypatch.setenv(name, value)
    settings = load_settings(write_credentials(tmp_path / "credentials.json", FAST_RETRIES))
    assert sorted(settings.usable_ais) == ["gemini", "grok", "ollama", "openai"]

    await ai_clients.initialize_all_clients_async(settings)
    try:
        for name in settings.usable_ais:
            with anyio.fail_after(10):
                assert await ai_clients.ASYNC_AI_CLIENTS[name].generate("hello") == "recorded"
                assert await anyio.to_thread.run_sync(ai_clients.AI_CLIENTS[name].generate, "hello") == "recorded"
    finally:
        await ai_clients.cleanup_async_ai_clients()

    assert decoy.recorded() == []
    sent = by_ai(recorder.recorded())
    assert {name: len(requests) for name, requests in sent.items()} == {n: 2 for n in settings.usable_ais}
    for name, requests in sent.items():
        for request in requests:
            text = request.text()
            leaked = [word for word in canaries(env) if word in text]
            if name == "openai":  # OpenAI's own account settings, and only OpenAI's
                assert request.headers["openai-organization"] == env["OPENAI_ORG_ID"]
                assert request.headers["openai-project"] == env["OPENAI_PROJECT_ID"]
                leaked = [word for word in leaked if word not in (env["OPENAI_ORG_ID"], env["OPENAI_PROJECT_ID"])]
            else:
                assert "openai-organization" not in request.headers and "openai-project" not in request.headers
            assert leaked == [], f"{name} sent {leaked}"
            assert "x-canary" not in request.headers
            others = [key for ai, key in OWN_KEYS.items() if ai != name and key in text]
            assert others == [], f"{name} sent another AI's key"
    assert all(r.headers["authorization"] == f"Bearer {OWN_KEYS['openai']}" for r in sent["openai"])
    assert all(r.headers["authorization"] == f"Bearer {OWN_KEYS['grok']}" for r in sent["grok"])
    assert all(r.headers["authorization"] == "Bearer no-key-needed" for r in sent["ollama"])
    for request in sent["gemini"]:
        assert request.headers["x-goog-api-key"] == OWN_KEYS["gemini"]
        assert "authorization" not in request.headers
        assert request.path in (  # the sync client asks for the whole answer, the async one for a stream
            "/gemini/v1/models/gemini-2.5-flash:generateContent",
            "/gemini/v1/models/gemini-2.5-flash:streamGenerateContent",
        )
    assert not (tmp_path / "canary-replays").exists()


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_the_proxy_from_the_environment_is_used_and_no_proxy_is_honoured(
    kind: str, recorder: Recorder, decoy: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = decoy  # a recorder answers an absolute-form request like any other: a proxy that answers itself
    base_url = recorder.url("/viaproxy/v1" if kind == "openai" else "/viaproxy")
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    async with build_async_ai_client("viaproxy", "key-0123456789abcdef", "m", base_url=base_url, kind=kind) as client:
        with anyio.fail_after(10):
            assert await client.generate("hello") == "recorded"
    assert recorder.recorded() == []
    [through] = proxy.recorded()
    assert through.path.startswith(f"http://127.0.0.1:{recorder.port}/viaproxy/")

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with build_async_ai_client("viaproxy", "key-0123456789abcdef", "m", base_url=base_url, kind=kind) as client:
        with anyio.fail_after(10):
            assert await client.generate("hello") == "recorded"
    assert len(recorder.recorded()) == 1 and len(proxy.recorded()) == 1


# -- redirects ------------------------------------------------------------------------------------


@pytest.fixture
def redirecting(recorder: Recorder, decoy: Recorder) -> Recorder:
    """`recorder` answering every request with a redirect to `decoy`, with a path and a secret query."""
    recorder.redirect = (302, decoy.url("/landing/v1?query=secret"))
    return recorder


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("kind", ["openai", "gemini"])
@pytest.mark.parametrize("mode", ["async", "sync"])
async def test_a_redirect_is_a_typed_error_naming_the_host_and_is_never_followed(
    status: int, kind: str, mode: str, redirecting: Recorder, decoy: Recorder
) -> None:
    redirecting.redirect = (status, decoy.url("/landing/v1?query=secret"))
    base_url = redirecting.url("/moved/v1" if kind == "openai" else "/moved")
    options = {"base_url": base_url, "kind": kind}
    with pytest.raises(Redirected, match=rf"redirected to http://127\.0\.0\.1:{decoy.port};") as caught:
        with anyio.fail_after(10):
            if mode == "async":
                async with build_async_ai_client("moved", "key-0123456789abcdef", "m", **options) as client:
                    await client.generate("hello")
            else:
                with create_ai_client("moved", "key-0123456789abcdef", "m", **options) as sync_client:
                    await anyio.to_thread.run_sync(sync_client.generate, "hello")
    error = caught.value
    assert (error.status_code, error.location, error.kind) == (status, f"http://127.0.0.1:{decoy.port}", "redirected")
    assert "secret" not in str(error) and "landing" not in str(error)
    assert not should_retry(error)
    assert decoy.recorded() == []
    assert len(redirecting.recorded()) == 1


async def test_a_redirected_call_is_not_retried_and_the_new_host_gets_nothing(
    redirecting: Recorder, decoy: Recorder, tmp_path: Path
) -> None:
    body = {"grok": {"api_key": OWN_KEYS["grok"], "base_url": redirecting.url("/grok/v1")}} | FAST_RETRIES
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    await ai_clients.initialize_all_clients_async(settings)
    try:
        with anyio.fail_after(10), pytest.raises(Redirected, match=str(decoy.port)):
            await call_ai_async("grok", "hello")
    finally:
        await ai_clients.cleanup_async_ai_clients()
    assert len(redirecting.recorded()) == 1
    assert decoy.recorded() == []


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("/elsewhere?token=secret", "a relative or unreadable address"),
        ("http://user:secret@evil.example:8443/x?q=secret", "http://evil.example:8443"),
        ("https://EVIL.example/path#secret", "https://evil.example"),
        ("javascript:alert('secret')", "a relative or unreadable address"),
        ("http://[::1]:9/secret", "http://[::1]:9"),
        ("http://bad host\u202e/secret", "a relative or unreadable address"),
    ],
)
async def test_the_redirect_target_is_shown_as_scheme_host_and_port_only(
    location: str, shown: str, redirecting: Recorder
) -> None:
    redirecting.redirect = (301, location.encode("utf-8").decode("latin-1"))
    async with build_async_ai_client("moved", "key-0123456789abcdef", "m", base_url=redirecting.url("/v1")) as client:
        with anyio.fail_after(10), pytest.raises(Redirected) as caught:
            await client.generate("hello")
    assert caught.value.location == shown
    assert "secret" not in str(caught.value)
