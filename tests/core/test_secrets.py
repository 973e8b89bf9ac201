"""Secrets stay secret in every shape: a password in a base URL, a key echoed partly hidden, a key
pasted with a stray character."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from callers import Junior
from core.config.credentials import PROJECT_ROOT
from core.config.settings import load_settings
from core.errors import ConfigError
from core.redact import PARTIAL_CHARS, RedactingFilter, Redactor, safe_origin, safe_url, url_secrets
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, answer_of, credentials_for, write_credentials
from tools.status import _render, server_status

pytestmark = pytest.mark.anyio
SERVER = str(PROJECT_ROOT / "server.py")
KEY = "sk-proj-Zq8rT2vW9yB4nM6kL1pX3cV7bN0aS5dF"  # 40 characters, as real keys are long
URL_PASSWORD = "gateway-password-4c1d9e"


# -- a password in a base URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pass@host/v1", "https://user:***@host/v1"),
        ("https://user:p%40ss@host:8443/v1?x=1", "https://user:***@host:8443/v1?x=1"),
        ("https://token-as-user@host/v1", "https://***@host/v1"),
        ("http://localhost:11434/v1", "http://localhost:11434/v1"),
    ],
)
def test_a_base_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_the_credentials_in_a_url_are_found_for_masking() -> None:
    assert url_secrets("https://user:pass@host/v1") == ["pass"]
    assert url_secrets("https://token-as-user@host/v1") == ["token-as-user"]
    assert url_secrets("https://host/v1") == []
    assert safe_origin("https://user:pass@Host.example:8443/p?q=1#f") == "https://host.example:8443"


async def test_a_base_url_password_shows_nowhere(
    fake: FakeProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = credentials_for(fake, ("grok",)) | FAST_RETRIES
    body["grok"]["base_url"] = body["grok"]["base_url"].replace("http://", f"http://me:{URL_PASSWORD}@")
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    async with Junior.build(settings) as app:
        status = server_status(app)
        shown = _render(status) + status.model_dump_json() + repr(app.pool.async_clients["grok"])
    assert URL_PASSWORD not in shown and "http://me:***@127.0.0.1" in shown
    # Logs and anything sent: the URL form is masked whatever the password's length, and the
    # password, long enough to be told from ordinary words, is masked on its own too.
    logger = logging.getLogger("junior_ai.test")
    masking = RedactingFilter(Redactor(settings.secrets))
    caplog.handler.addFilter(masking)
    try:
        logger.warning("connecting to %s (password %s)", settings.ais["grok"].base_url, URL_PASSWORD)
    finally:
        caplog.handler.removeFilter(masking)
    assert URL_PASSWORD not in caplog.text and f"http://me:[key …{URL_PASSWORD[-4:]}]@127.0.0.1" in caplog.text
    assert (
        Redactor().redact("postgres://app:short@db/x and ssh://git@github.com/x")
        == "postgres://app:***@db/x and ssh://git@github.com/x"
    )


def test_an_invalid_base_url_is_reported_without_its_password(tmp_path: Path) -> None:
    body = {"grok": {"api_key": KEY, "base_url": f"https://me:{URL_PASSWORD}@host:notaport/v1"}}
    with pytest.raises(ConfigError, match=r"grok: base_url: .*https://me:\*\*\*@host:notaport/v1") as caught:
        load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    assert URL_PASSWORD not in str(caught.value)


# -- a key echoed partly hidden -------------------------------------------------------------------


@pytest.mark.parametrize(
    "echo",
    [
        KEY,
        f"Incorrect API key provided: {KEY[:8]}************{KEY[-12:]}",  # OpenAI's way of hiding it
        f"key {KEY[:PARTIAL_CHARS]}...",
        f"key ...{KEY[14 : 14 + PARTIAL_CHARS]}...",
        f"{KEY[-PARTIAL_CHARS:]}",
        f"two: {KEY[:20]} and {KEY[20:]}",
    ],
    ids=["whole", "openai-style", "head", "middle", "tail", "two-halves"],
)
def test_any_run_of_twelve_characters_of_a_key_is_masked(echo: str) -> None:
    masked = Redactor([KEY]).redact(echo)
    for start in range(len(KEY) - PARTIAL_CHARS + 1):
        assert KEY[start : start + PARTIAL_CHARS] not in masked
    assert f"[key …{KEY[-4:]}]" in masked


def test_fewer_than_twelve_characters_of_a_key_are_left_alone() -> None:
    text = f"prefix {KEY[: PARTIAL_CHARS - 1]} and {KEY[10 : 10 + PARTIAL_CHARS - 1]} suffix"
    assert Redactor([KEY]).redact(text) == text


async def test_a_key_a_provider_echoes_partly_hidden_is_masked_in_the_result(
    fake: FakeProvider, tmp_path: Path
) -> None:
    body = credentials_for(fake, ("grok",)) | FAST_RETRIES
    body["grok"]["api_key"] = KEY
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    fake.behave("grok", text=f"Your key sk-proj-****{KEY[-14:]} is fine; the rest: {KEY[8:22]}")
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ask_ai", {"ai": "grok", "prompt": "x"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert KEY[-14:] not in text and KEY[8:22] not in text
    assert answer_of(text) == f"Your key sk-proj-****[key …{KEY[-4:]}] is fine; the rest: [key …{KEY[-4:]}]"


# -- a key with a stray character -----------------------------------------------------------------

STRAY = [
    ("\u200b", r"a zero width space \(U\+200B\)"),
    ("\u00a0", r"a no-break space \(U\+00A0\)"),
    ("\u2019", r"a right single quotation mark \(U\+2019\)"),
    ("\u2013", r"an en dash \(U\+2013\)"),
    (" ", r"a space"),
    ("\t", r"a control character \(U\+0009\)"),
    ("é", r"a latin small letter e with acute \(U\+00E9\)"),
]


def stray_key(char: str) -> str:
    return KEY[:12] + char + KEY[12:]


@pytest.mark.parametrize(("char", "described"), STRAY)
def test_a_key_with_a_stray_character_in_the_environment_is_named_at_start(
    char: str, described: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.config.credentials.USER_CREDENTIALS", Path("/nonexistent/credentials.json"))
    monkeypatch.setattr("core.config.credentials.PROJECT_ROOT", Path("/nonexistent"))
    expected = rf"XAI_API_KEY: grok: api_key contains {described} at position 13; re-copy the key"
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(env={"XAI_API_KEY": stray_key(char)})
    assert KEY[:12] not in str(caught.value) and KEY[12:] not in str(caught.value)


@pytest.mark.parametrize(("char", "described"), STRAY)
def test_a_key_with_a_stray_character_in_the_file_is_named_at_start(char: str, described: str, tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "credentials.json", {"grok": {"api_key": stray_key(char)}})
    with pytest.raises(ConfigError, match=rf"{path}: grok: api_key contains {described} at position 13") as caught:
        load_settings(path, env={})
    assert KEY[:12] not in str(caught.value) and KEY[12:] not in str(caught.value)


def test_a_mangled_key_is_reported_without_the_key_and_its_ai_left_out(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "XAI_API_KEY": stray_key("\u200b")}
    done = subprocess.run(
        [sys.executable, SERVER], capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0 and done.stdout == "", "it starts (and every tool answer says what is wrong)"
    assert "XAI_API_KEY: grok: api_key contains a zero width space (U+200B) at position 13" in done.stderr
    assert KEY[:12] not in done.stderr and KEY[12:] not in done.stderr and "Traceback" not in done.stderr
