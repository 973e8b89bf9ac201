"""A call's cost for a configured AI, carried by its result and shown in one short line under the answer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from ai.request import Completion, Message, Request, Usage
from callers import AIResult, Junior, ask_route
from callers.spending import price_for, streamed_cost_for, worst_case_for
from core.config.settings import load_settings
from core.money.prices import UNKNOWN, Price
from tests.fakes import FakeProvider
from tests.helpers import FAST_RETRIES, credentials_for, write_credentials
from tools.spending import dollars, footer

FREE = {"input_per_mtok": 0, "output_per_mtok": 0}
CHEAP = {"input_per_mtok": 0.4, "output_per_mtok": 1.6, "cached_input_per_mtok": 0.1}


def result(
    input_tokens: int | None, output_tokens: int | None, cached: int | None, reasoning: int | None, usd: float | None
) -> AIResult:
    return AIResult(
        ai="gemini",
        model="gemini-2.5-flash",
        ok=True,
        latency_s=1.0,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
        cost_usd=usd,
    )


@pytest.mark.parametrize(
    ("counts", "line"),
    [
        ((1204, 311, None, None, 0.0011), "gemini-2.5-flash · 1,204 in / 311 out · $0.0011"),
        (
            (1204, 311, 1000, 200, 0.0011),
            "gemini-2.5-flash · 1,204 in (1,000 cached) / 311 out (200 reasoning) · $0.0011",
        ),
        ((1204, 311, 0, 0, 0.0011), "gemini-2.5-flash · 1,204 in / 311 out · $0.0011"),
        ((1204, 311, None, None, None), "gemini-2.5-flash · 1,204 in / 311 out · cost unknown"),
        ((None, None, None, None, 0.25), "gemini-2.5-flash · $0.25"),
        ((None, None, None, None, None), "gemini-2.5-flash · cost unknown"),
        ((None, 311, None, 11, 0.0), "gemini-2.5-flash · 311 out (11 reasoning) · $0"),
        ((12, None, 3, None, None), "gemini-2.5-flash · 12 in (3 cached) · cost unknown"),
    ],
)
def test_the_footer_is_one_short_line(
    counts: tuple[int | None, int | None, int | None, int | None, float | None], line: str
) -> None:
    assert footer(result(*counts)) == line


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (0.0, "$0"),
        (0.000_000_4, "<$0.000001"),
        (0.000_001, "$0.0000010"),
        (0.000_012_34, "$0.000012"),
        (0.0011, "$0.0011"),
        (0.00999, "$0.0100"),
        (0.042, "$0.042"),
        (0.5, "$0.50"),
        (0.999, "$1.00"),
        (1.0, "$1.00"),
        (12.5, "$12.50"),
        (1234.567, "$1,234.57"),
        (98_765.4, "$98,765.40"),
    ],
)
def test_dollars_read_well_from_millionths_to_thousands(usd: float, shown: str) -> None:
    assert dollars(usd) == shown


def test_an_answer_carries_its_usage_and_price_and_a_price_left_out_is_unknown() -> None:
    completion = Completion("hi", "m", Usage(1204, 311, 1000, 200))
    priced = AIResult.answered("gemini", completion, time.perf_counter(), Price(0.0011, "genai-prices"))
    assert (priced.input_tokens, priced.output_tokens, priced.cached_tokens, priced.reasoning_tokens) == (
        1204,
        311,
        1000,
        200,
    )
    assert (priced.cost_usd, priced.cost_source) == (0.0011, "genai-prices")
    unpriced = AIResult.answered("gemini", Completion("hi", "m"), time.perf_counter())
    assert (unpriced.input_tokens, unpriced.cost_usd, unpriced.cost_source) == (None, None, None)
    assert AIResult.answered("gemini", completion, time.perf_counter(), UNKNOWN).cost_usd is None


@pytest.fixture
async def priced(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[Junior]:
    per_ai = {"ollama": {"prices": {"*": FREE}}, "deepseek": {"prices": {"deepseek-chat": CHEAP}}}
    body = credentials_for(fake, ("gemini", "openrouter", "deepseek", "ollama", "grok"), **per_ai) | FAST_RETRIES
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    async with Junior.build(settings) as app:
        yield app


async def ask(app: Junior, ai: str) -> tuple[Completion, Price]:
    route = app.route(ai)
    with anyio.fail_after(10):
        completion = await ask_route(app, route, Request("one two three"))
    return completion, price_for(route.config, completion)


@pytest.mark.anyio
async def test_each_ai_is_priced_in_order_through_the_real_sdks(fake: FakeProvider, priced: Junior) -> None:
    fake.behave("openrouter", usage=(1000, 100, None, None), cost=0.0042)
    fake.behave("deepseek", usage=(4_000_000, 1_000_000, 2_000_000, None))
    fake.behave("ollama", usage=(5000, 700, None, None))
    fake.behave("gemini", usage=(1000, 80, None, 20))
    fake.behave("grok", usage=(1000, 100, None, None))
    assert (await ask(priced, "openrouter"))[1] == Price(0.0042, "provider")
    assert (await ask(priced, "deepseek"))[1] == Price(pytest.approx(2.6), "override")  # type: ignore[arg-type]
    assert (await ask(priced, "ollama"))[1] == Price(0.0, "override")
    completion, price = await ask(priced, "gemini")
    assert completion.usage == Usage(1000, 100, None, 20) and price.source == "genai-prices"
    assert price.usd is not None and price.usd > 0
    # The fake answers with the model asked; the fake's grok model is the built-in one, which is listed.
    assert (await ask(priced, "grok"))[1].source == "genai-prices"


def test_the_worst_case_counts_the_system_prompt_and_every_turn(tmp_path: Path, fake: FakeProvider) -> None:
    body = credentials_for(fake, ("ollama", "deepseek"), deepseek={"prices": {"*": CHEAP}})
    settings = load_settings(write_credentials(tmp_path / "credentials.json", body), env={})
    history = (Message("user", "u" * 800), Message("assistant", "a" * 400))
    request = Request("p" * 400, history=history, system="s" * 400)
    worst = worst_case_for(settings.ais["deepseek"], request)
    assert worst == pytest.approx(((2000 / 4) * 0.4 + 4096 * 1.6) / 1e6)
    assert worst_case_for(settings.ais["deepseek"], Request("p" * 4, max_tokens=10)) == pytest.approx(
        (1 * 0.4 + 10 * 1.6) / 1e6
    )
    assert worst_case_for(settings.ais["ollama"], request) is None  # a custom AI with no price: unknown


def test_what_streamed_costs_at_least_its_prompt_and_the_tokens_seen(tmp_path: Path, fake: FakeProvider) -> None:
    body = credentials_for(fake, ("deepseek",), deepseek={"prices": {"*": CHEAP}})
    deepseek = load_settings(write_credentials(tmp_path / "credentials.json", body), env={}).ais["deepseek"]
    request = Request("p" * 400, system="s" * 400, max_tokens=1_000)  # 200 tokens of prompt
    assert streamed_cost_for(deepseek, request, 250) == pytest.approx((200 * 0.4 + 250 * 1.6) / 1e6)
    assert streamed_cost_for(deepseek, request, 1_000) == worst_case_for(deepseek, request)
