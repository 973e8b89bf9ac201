"""What a call cost: the provider's figure, else the configured price, else genai-prices', else unknown
(never 0); and the worst case before sending. Expected figures are computed from genai-prices' own data
for the model (its price per million tokens), not from its calculation."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ai.request import Usage
from core.config.credentials import PROJECT_ROOT
from core.config.defaults import CHARS_PER_TOKEN, WORST_OUTPUT_TOKENS
from core.config.settings import BUILTIN_AIS
from core.money.prices import (
    ANY_MODEL,
    GENAI_PROVIDERS,
    UNKNOWN,
    ModelPrice,
    Price,
    genai_provider,
    price_of,
    worst_case_usd,
)

CHEAP = ModelPrice(input_per_mtok=0.4, output_per_mtok=1.6, cached_input_per_mtok=0.1)
FREE = ModelPrice(input_per_mtok=0, output_per_mtok=0)
ODD = ModelPrice(input_per_mtok=2, output_per_mtok=8)


def listed(provider: str, model: str) -> dict[str, Decimal]:
    """genai-prices' own per-million prices for `model` at `provider` (input, output, cache read)."""
    from genai_prices.data_snapshot import get_snapshot

    _, info = get_snapshot().find_provider_model(model, None, provider, None)
    prices = info.get_prices(datetime.now(tz=UTC))
    return {"input": prices.input_mtok, "output": prices.output_mtok, "cached": prices.cache_read_mtok}


def expected(provider: str, model: str, input_tokens: int, output_tokens: int, cached: int = 0) -> float:
    p = listed(provider, model)
    total = (input_tokens - cached) * p["input"] + cached * (p["cached"] or p["input"]) + output_tokens * p["output"]
    return float(total / 1_000_000)


@pytest.mark.parametrize(
    ("provider", "model", "usage", "cached"),
    [
        ("openai", "gpt-4.1-mini", Usage(1_204, 311), 0),
        ("openai", "gpt-4.1-mini", Usage(10_000, 500, cached_tokens=8_000), 8_000),
        ("openai", "gpt-4.1-mini-2025-04-14", Usage(1_204, 311), 0),  # a dated version, as OpenAI names it
        ("google", "gemini-2.5-flash", Usage(1_204, 311, 1_000, 200), 1_000),  # reasoning is output
        ("x-ai", "grok-3-mini", Usage(2_000, 100, 1_500), 1_500),
    ],
)
def test_a_known_model_is_priced_by_genai_prices_from_its_own_data(
    provider: str, model: str, usage: Usage, cached: int
) -> None:
    assert usage.input_tokens is not None and usage.output_tokens is not None
    price = price_of(provider, model, usage)
    assert price.source == "genai-prices"
    assert price.usd == pytest.approx(expected(provider, model, usage.input_tokens, usage.output_tokens, cached))


def test_cached_tokens_cost_less_than_other_input() -> None:
    fresh = price_of("openai", "gpt-4.1-mini", Usage(10_000, 0))
    cached = price_of("openai", "gpt-4.1-mini", Usage(10_000, 0, cached_tokens=10_000))
    assert fresh.usd is not None and cached.usd is not None and 0 < cached.usd < fresh.usd


@pytest.mark.parametrize(
    ("provider", "model", "usage", "overrides", "price"),
    [
        # The provider's own figure beats every other, 0 included.
        ("openrouter", "openrouter/auto", Usage(10, 5, cost_usd=0.0123), None, Price(0.0123, "provider")),
        ("openai", "gpt-4.1-mini", Usage(10, 5, cost_usd=0.5), {"gpt-4.1-mini": ODD}, Price(0.5, "provider")),
        ("openrouter", "openrouter/auto", Usage(cost_usd=0.0), None, Price(0.0, "provider")),
        # A configured price beats genai-prices': the model's own, else "*".
        ("openai", "gpt-4.1-mini", Usage(1_000_000, 1_000_000), {"gpt-4.1-mini": ODD}, Price(10.0, "override")),
        ("openai", "gpt-4.1-mini", Usage(1_000_000, 0), {ANY_MODEL: ODD}, Price(2.0, "override")),
        ("openai", "gpt-4.1", Usage(1_000_000, 0), {"gpt-4.1": CHEAP, ANY_MODEL: ODD}, Price(0.4, "override")),
        (None, "m", Usage(4_000_000, 1_000_000, cached_tokens=2_000_000), {"m": CHEAP}, Price(2.6, "override")),
        # A cached price left out is the input price.
        (None, "m", Usage(1_000_000, 0, cached_tokens=1_000_000), {"m": ODD}, Price(2.0, "override")),
        # A custom AI (a local Ollama) priced at 0 for every model.
        (None, "llama3.2", Usage(5_000, 700), {ANY_MODEL: FREE}, Price(0.0, "override")),
        # Unknown: never 0.
        (None, "llama3.2", Usage(5_000, 700), None, UNKNOWN),
        (None, "gpt-4.1-mini", Usage(5_000, 700), {"other": ODD}, UNKNOWN),  # a custom AI: no price list
        ("openai", "no-such-model-anywhere", Usage(5_000, 700), None, UNKNOWN),
        ("openrouter", "openrouter/auto", Usage(5_000, 700), None, UNKNOWN),
        ("no-such-provider", "gpt-4.1-mini", Usage(5_000, 700), None, UNKNOWN),
        ("openai", "gpt-4.1-mini", None, None, UNKNOWN),
        ("openai", "gpt-4.1-mini", Usage(5_000, None), None, UNKNOWN),
        ("openai", "gpt-4.1-mini", Usage(None, 700), {ANY_MODEL: FREE}, UNKNOWN),
    ],
)
def test_the_price_comes_from_the_first_that_knows_it(
    provider: str | None, model: str, usage: Usage | None, overrides: dict[str, ModelPrice] | None, price: Price
) -> None:
    got = price_of(provider, model, usage, overrides)
    assert got.source == price.source
    assert got.usd == (None if price.usd is None else pytest.approx(price.usd))


def test_an_answer_naming_a_dated_version_finds_the_price_configured_for_the_model_asked() -> None:
    usage = Usage(1_000_000, 0)
    assert price_of(None, "m-2025-04-14", usage, {"m": ODD}, asked="m") == Price(2.0, "override")
    assert price_of(None, "m-2025-04-14", usage, {"m": ODD}) == UNKNOWN


def test_model_names_from_answers_do_not_grow_genai_prices_caches() -> None:
    from genai_prices.data_snapshot import get_snapshot

    price_of("openai", "gpt-4.1-mini", Usage(1, 1))
    snapshot = get_snapshot()
    sizes = len(snapshot._lookup_cache), len(snapshot._provider_cache), len(snapshot._provider_misses)
    for n in range(200):  # a provider that names a new model in every answer
        assert price_of("openai", f"gpt-4.1-mini-{n}x", Usage(1, 1)) == UNKNOWN
        assert price_of("nobody", f"m-{n}", Usage(1, 1)) == UNKNOWN
    assert (len(snapshot._lookup_cache), len(snapshot._provider_cache), len(snapshot._provider_misses)) <= (
        sizes[0],
        sizes[1] + 1,
        sizes[2] + 1,
    )


def test_counts_genai_prices_would_refuse_are_no_crash() -> None:
    # Not cleaned (as a provider's are): parts larger than their wholes.
    price = price_of("openai", "gpt-4.1-mini", Usage(10, 5, cached_tokens=50, reasoning_tokens=60))
    assert price.source == "genai-prices" and price.usd == pytest.approx(expected("openai", "gpt-4.1-mini", 10, 5, 10))


@pytest.mark.parametrize(
    ("provider", "model", "chars", "max_tokens", "overrides", "usd"),
    [
        (None, "m", 4_000, 500, {"m": CHEAP}, (1_000 * 0.4 + 500 * 1.6) / 1e6),
        (None, "m", 4_001, 500, {"m": CHEAP}, (1_001 * 0.4 + 500 * 1.6) / 1e6),  # a started token counts
        (None, "m", 0, None, {ANY_MODEL: CHEAP}, WORST_OUTPUT_TOKENS * 1.6 / 1e6),
        (None, "llama3.2", 10_000, None, {ANY_MODEL: FREE}, 0.0),
        (None, "llama3.2", 10_000, None, None, None),
        ("openai", "no-such-model-anywhere", 10_000, 100, None, None),
    ],
)
def test_the_worst_case_is_the_prompt_and_the_whole_answer_at_the_models_price(
    provider: str | None,
    model: str,
    chars: int,
    max_tokens: int | None,
    overrides: dict[str, ModelPrice] | None,
    usd: float | None,
) -> None:
    got = worst_case_usd(provider, model, chars, max_tokens, overrides)
    assert got == (None if usd is None else pytest.approx(usd))


@pytest.mark.parametrize("max_tokens", [1_000, None])
def test_the_worst_case_of_a_known_model_uses_genai_prices(max_tokens: int | None) -> None:
    output = WORST_OUTPUT_TOKENS if max_tokens is None else max_tokens
    chars = 40_000
    got = worst_case_usd("google", "gemini-2.5-flash", chars, max_tokens)
    assert got == pytest.approx(expected("google", "gemini-2.5-flash", chars // CHARS_PER_TOKEN, output))


@pytest.mark.parametrize(("ai", "provider"), sorted(GENAI_PROVIDERS.items()))
def test_each_builtin_ai_maps_to_a_provider_genai_prices_lists(ai: str, provider: str) -> None:
    from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

    assert genai_provider(ai) == provider
    found = find_provider_by_id(get_snapshot().providers, provider)
    assert found is not None and found.id == provider
    assert price_of(provider, BUILTIN_AIS[ai].model, Usage(1_000, 100)).usd is not None or ai == "openrouter"


def test_every_builtin_ai_has_a_provider_and_a_custom_ai_none() -> None:
    assert set(GENAI_PROVIDERS) == set(BUILTIN_AIS)
    assert genai_provider("grok") == "x-ai"
    assert genai_provider("ollama", builtin=False) is None
    assert genai_provider("openai", builtin=False) is None  # a custom AI's name says nothing of its provider


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"input_per_mtok": -1, "output_per_mtok": 1}, "greater than or equal to 0"),
        ({"input_per_mtok": float("nan"), "output_per_mtok": 1}, "finite number"),
        ({"input_per_mtok": 1, "output_per_mtok": float("inf")}, "finite number"),
        ({"input_per_mtok": 1, "output_per_mtok": 1e9}, "less than or equal to 100000"),
        ({"input_per_mtok": True, "output_per_mtok": 1}, "valid number"),
        ({"input_per_mtok": "0.4", "output_per_mtok": 1}, "valid number"),
        ({"input_per_mtok": 1}, "Field required"),
        ({"input_per_mtok": 1, "output_per_mtok": 1, "cached_input_per_mtok": -0.1}, "greater than or equal to 0"),
        ({"input_per_mtok": 1, "output_per_mtok": 1, "cached": 0.1}, "Extra inputs are not permitted"),
    ],
)
def test_a_configured_price_is_a_finite_non_negative_number(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ModelPrice.model_validate(fields)


def test_pricing_imports_genai_prices_only_when_a_price_is_asked_for() -> None:
    code = "\n".join(
        [
            "import sys, core.config.settings, callers.spending",
            "from ai.request import Usage",
            "from core.money.prices import price_of",
            "print('genai_prices' in sys.modules)",
            "price_of('openai', 'gpt-4.1-mini', Usage(1, 1, cost_usd=0.1))",  # the provider's figure: no list
            "print('genai_prices' in sys.modules)",
            "price_of('openai', 'gpt-4.1-mini', Usage(1, 1))",
            "print('genai_prices' in sys.modules)",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False", "True"], done.stderr


def test_the_price_list_can_be_loaded_ahead_of_the_first_price() -> None:
    code = "\n".join(
        [
            "import sys, core.money.prices",
            "core.money.prices.load_price_list()",
            "print('genai_prices.data' in sys.modules)",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True"], done.stderr
