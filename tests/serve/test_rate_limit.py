"""Rate limits over HTTP (serve/http/rate_limit.py): a real `serve --http` answers a caller over their rate 429
with Retry-After while another caller goes on; in process (uvicorn on loopback, the store's clock injected),
the caller is served again once the wait is over, callers without a token are not limited, and a store that
cannot count lets requests through, counted and warned about."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from callers import Junior
from core.config.http import HttpSettings, token_hash
from core.config.settings import Settings, settings_or_problems
from core.resilience.rate_limits import RATE_PER_MINUTE
from serve.http.app import MCP_PATH, http_app
from serve.http.rate_limit import STORE_PAUSE_S, RateLimiter
from serve.main import build_server
from tests.fakes import FakeProvider
from tests.helpers import closed_port, credentials_for, write_credentials
from tests.serve.test_http import ACCEPT, CANARY, LIST, HttpServer, server_env

pytestmark = pytest.mark.anyio

BOB = "bobs-token-0a1b2c3d4e5f60718293a4b5"
TOKENS = f"alice:{token_hash(CANARY)},bob:{token_hash(BOB)}"
NOW = 1_796_000_040.0  # on the minute


async def post_list(http: httpx2.AsyncClient, url: str, token: str | None) -> httpx2.Response:
    headers = {**ACCEPT, **({"Authorization": f"Bearer {token}"} if token else {})}
    return await http.post(f"{url}{MCP_PATH}", json=LIST, headers=headers)


@pytest.fixture
def limited(fake: FakeProvider, tmp_path: Path) -> Iterator[HttpServer]:
    """`serve --http` where alice may send 2 requests a minute and bob the default."""
    body = {**credentials_for(fake, ("grok",)), "http": {"rate_limits": {"alice": 2}}}
    credentials = write_credentials(tmp_path / "credentials.json", body)
    server = HttpServer(server_env(tmp_path, credentials, JUNIOR_AI_TOKENS=TOKENS))
    try:
        server.wait_ready()
        yield server
    finally:
        log = server.stop()
        assert CANARY not in log and BOB not in log, log
        assert "Traceback" not in log, log


async def test_a_caller_over_their_rate_is_answered_429_with_retry_after_and_others_are_not(
    limited: HttpServer,
) -> None:
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(timeout=30) as http:
            alice = [await post_list(http, limited.url, CANARY) for _ in range(3)]
            bob = await post_list(http, limited.url, BOB)
            metrics = (await http.get(f"{limited.url}/metrics")).text
    assert [response.status_code for response in alice] == [200, 200, 429], alice[-1].text
    refused = alice[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 120
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["limit_per_minute"] == 2
    assert refused.json()["retry_after_s"] == int(refused.headers["Retry-After"])
    assert "over the limit of 2 requests a minute" in refused.json()["error_description"]
    assert bob.status_code == 200
    counted = {
        sample.name: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name.startswith("junior_ai_rate_")
    }
    assert counted == {"junior_ai_rate_limited_total": 1, "junior_ai_rate_unchecked_total": 0}


# -- in process: uvicorn on loopback, the store's clock injected ------------------------------------------


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[str, Junior, RateLimiter]]:
    """The HTTP app of serve/http/app.py under uvicorn in this process, on a loopback socket listening before
    uvicorn starts (a request waits in its backlog); yields once the application is built."""
    built: list[Junior] = []
    ready = anyio.Event()

    def build_app(settings: Settings) -> Junior:
        built.append(Junior.build(settings))
        ready.set()
        return built[-1]

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = int(listening.getsockname()[1])
        server = build_server(settings, build_app=build_app)
        app = http_app(server, settings, "127.0.0.1", port, lambda: built[-1] if built else None)
        uv = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: uv.serve(sockets=[listening]))
            await ready.wait()
            try:
                yield f"http://127.0.0.1:{port}", built[-1], app.state.rate_limiter
            finally:
                uv.should_exit = True


def settings_for(fake: FakeProvider, tmp_path: Path, http: dict[str, Any], **server: Any) -> Settings:
    body = {**credentials_for(fake, ("grok",)), "http": http, **server}
    path = write_credentials(tmp_path / "credentials.json", body)
    settings = settings_or_problems(path, {"XDG_DATA_HOME": str(tmp_path / "xdg-data")})
    assert not settings.problems, settings.problems
    return settings


async def test_a_refused_caller_is_served_again_once_the_wait_is_over(fake: FakeProvider, tmp_path: Path) -> None:
    tokens = {"alice": token_hash(CANARY), "bob": token_hash(BOB)}
    settings = settings_for(fake, tmp_path, {"tokens": tokens, "rate_per_minute": 2})
    now = NOW + 15
    with anyio.fail_after(60):
        async with serving(settings) as (url, junior, limiter), httpx2.AsyncClient(timeout=30) as http:
            (await junior.store()).clock = lambda: now
            first = [(await post_list(http, url, CANARY)).status_code for _ in range(3)]
            bob = (await post_list(http, url, BOB)).status_code
            refused = await post_list(http, url, CANARY)
            wait = int(refused.headers["Retry-After"])
            now += wait - 1
            still = await post_list(http, url, CANARY)
            now += 1 + int(still.headers["Retry-After"])
            again = await post_list(http, url, CANARY)
    assert (first, bob, refused.status_code) == ([200, 200, 429], 200, 429)
    # Two refusals counted: alice starts the next minute at 4, waiting till 4 * (1 - f) + 1 <= 2 (f = 3/4).
    assert wait == 60 + 45 - 15
    assert still.status_code == 429, "not a moment sooner"
    assert again.status_code == 200, again.text
    assert (limiter.refused, limiter.failed_open) == (3, 0)


async def test_without_tokens_there_is_no_caller_and_no_limit(fake: FakeProvider, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path, {"rate_per_minute": 1})
    with anyio.fail_after(60):
        async with serving(settings) as (url, _, limiter), httpx2.AsyncClient(timeout=30) as http:
            statuses = [(await post_list(http, url, None)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert (limiter.refused, limiter.failed_open) == (0, 0)


async def test_a_store_that_cannot_count_lets_requests_through_counted_and_warned_once(
    fake: FakeProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"postgresql+asyncpg://junior:hunter2@127.0.0.1:{closed_port()}/junior"
    settings = settings_for(
        fake, tmp_path, {"tokens": {"alice": token_hash(CANARY)}, "rate_per_minute": 1}, database_url=unreachable
    )
    caplog.set_level(logging.WARNING, logger="junior_ai.http")
    with anyio.fail_after(60):
        async with serving(settings) as (url, _, limiter), httpx2.AsyncClient(timeout=30) as http:
            statuses = [(await post_list(http, url, CANARY)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert (limiter.refused, limiter.failed_open) == (0, 3)
    warnings = [record.getMessage() for record in caplog.records if "rate limits not enforced" in record.getMessage()]
    assert len(warnings) == 1, warnings
    assert "1 let through" in warnings[0] and "hunter2" not in warnings[0] and CANARY not in caplog.text


# -- the settings ------------------------------------------------------------------------------------------


def test_each_caller_has_the_common_rate_unless_given_their_own(tmp_path: Path) -> None:
    assert HttpSettings().rate_limit_for("alice") == RATE_PER_MINUTE == 120
    body = {"http": {"rate_per_minute": 30, "rate_limits": {"ci": 600, "ops": None, "bob": 6.0}}}
    http = settings_or_problems(write_credentials(tmp_path / "c.json", body), env={}).http
    assert [http.rate_limit_for(name) for name in ("alice", "ci", "ops", "bob")] == [30, 600, None, 6]
    assert HttpSettings(rate_per_minute=None).rate_limit_for("alice") is None


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        ({"rate_per_minute": 0}, "http.rate_per_minute: Value error, 0 is not a rate; give whole requests per minute"),
        ({"rate_per_minute": 2.5}, "2.5 is not a rate"),
        ({"rate_per_minute": True}, "True is not a rate"),
        ({"rate_per_minute": CANARY}, "http.rate_per_minute: Value error, a str is not a rate"),
        ({"rate_limits": {"bob": -1}}, "http.rate_limits: Value error, bob: -1 is not a rate"),
        ({"rate_limits": {"": 5}}, "'': a caller's name (a token's name), 1 to 255 long"),
        ({"rate_limits": [5]}, "http.rate_limits: Input should be a valid dictionary"),
    ],
)
def test_a_bad_rate_setting_is_a_problem_saying_what_is_valid(
    tmp_path: Path, http: dict[str, Any], problem: str
) -> None:
    settings = settings_or_problems(write_credentials(tmp_path / "c.json", {"http": http}), env={})
    [found] = settings.problems
    assert problem in found
    assert CANARY not in found


async def test_after_the_store_fails_requests_go_through_unchecked_for_a_pause_then_it_is_asked_again(
    fake: FakeProvider, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    settings = settings_for(
        fake,
        tmp_path,
        {"tokens": {"alice": token_hash(CANARY)}, "rate_per_minute": 1},
        database_url=f"sqlite+aiosqlite:///{blocker / 'junior.db'}",
    )
    now = 100.0
    async with Junior.build(settings) as junior:
        limiter = RateLimiter(settings.http, lambda: junior, monotonic=lambda: now)
        failed = await limiter.check("alice")  # the store cannot be opened
        blocker.unlink()  # now it can, but the limiter does not ask yet
        now += STORE_PAUSE_S - 0.1
        paused = await limiter.check("alice")
        now += 0.1
        counted = await limiter.check("alice")
        store = await junior.store()
        hits = (await store.rates.hit("alice")).hits
    assert (failed, paused, limiter.failed_open) == (None, None, 2)
    assert counted is not None and counted.allowed
    assert hits == 2, "only the request after the pause was counted"
