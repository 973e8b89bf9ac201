"""What a call cost, in US dollars, and what one may cost at most before it is sent.

One order, for every AI: the provider's own figure when it reports one (OpenRouter's `usage.cost`); else
the price configured for the model in the AI's block (`"prices": {"<model>" or "*": {...}}`); else the
price list of genai-prices (https://github.com/pydantic/genai-prices) for the AI's provider; else the
cost is unknown (`usd=None`), never 0. A custom AI is priced only by configuration (`"*"` at 0 for a local
Ollama). genai-prices is imported on first use, so that start-up never pays for its price list.

    price_of("openai", "gpt-4.1-mini", Usage(1_204, 311), ai.prices)   # Price(0.0009792, "genai-prices")
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from core.config.defaults import CHARS_PER_TOKEN, WORST_OUTPUT_TOKENS

__all__ = [
    "ANY_MODEL",
    "GENAI_PROVIDERS",
    "UNKNOWN",
    "ModelPrice",
    "Price",
    "PriceSource",
    "TokenUsage",
    "genai_provider",
    "load_price_list",
    "price_list_loaded",
    "price_of",
    "worst_case_usd",
]

PriceSource = Literal["provider", "genai-prices", "override"]
ANY_MODEL = "*"  # the key of a configured price that holds for every model of the AI
MAX_PER_MTOK = 100_000.0  # dollars per million tokens: more is a typo, not a price
PER = 1_000_000
# Our built-in AIs → genai-prices' provider ids (its `ProviderID`); a custom AI has none.
GENAI_PROVIDERS: Mapping[str, str] = MappingProxyType(
    {"gemini": "google", "openai": "openai", "grok": "x-ai", "deepseek": "deepseek", "openrouter": "openrouter"}
)


class TokenUsage(Protocol):
    """What is priced: the counts of `ai.request.Usage` (cached part of input, reasoning part of output)."""

    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def cached_tokens(self) -> int | None: ...
    @property
    def reasoning_tokens(self) -> int | None: ...
    @property
    def cost_usd(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Price:
    """What a call cost, and who said so; `usd` is None when nobody could (never 0 for "unknown")."""

    usd: float | None = None
    source: PriceSource | None = None


UNKNOWN = Price()

_Dollars = Annotated[float, Field(ge=0, le=MAX_PER_MTOK, allow_inf_nan=False, strict=True)]


class ModelPrice(BaseModel):
    """A model's price as configured in its AI's block, in dollars per million tokens.

    Attributes:
        input_per_mtok: Input tokens.
        output_per_mtok: Output tokens, reasoning included.
        cached_input_per_mtok: Input tokens read from the provider's cache; None: as other input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: _Dollars
    output_per_mtok: _Dollars
    cached_input_per_mtok: _Dollars | None = None

    def usd(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """The cost of these tokens (`cached_tokens` are part of `input_tokens`)."""
        cached = min(cached_tokens, input_tokens)
        cached_price = self.input_per_mtok if self.cached_input_per_mtok is None else self.cached_input_per_mtok
        return (
            (input_tokens - cached) * self.input_per_mtok + cached * cached_price + output_tokens * self.output_per_mtok
        ) / PER


def genai_provider(ai: str, builtin: bool = True) -> str | None:
    """genai-prices' id of the provider behind AI `ai` ("grok" → "x-ai"); None for a custom AI."""
    return GENAI_PROVIDERS.get(ai) if builtin else None


def price_of(
    provider: str | None,
    model: str,
    usage: TokenUsage | None,
    overrides: Mapping[str, ModelPrice] | None = None,
    *,
    asked: str | None = None,
) -> Price:
    """What one call cost: the provider's figure, else the configured price, else genai-prices', else unknown.

    Args:
        provider: genai-prices' provider id (`genai_provider`); None: genai-prices is not asked.
        model: The model that answered, as the provider named it ("gpt-4.1-mini-2025-04-14").
        usage: What the provider counted; None or a total missing makes the cost unknown (unless the
            provider gave its own figure).
        overrides: The AI's configured prices, by model id or `ANY_MODEL`.
        asked: The model asked, when the answer names another (a dated version): looked up after `model`.

    Returns:
        The cost and its source; `UNKNOWN` when it cannot be told. Never raises for a model or usage that
        genai-prices does not know or cannot price.
    """
    if usage is None:
        return UNKNOWN
    if usage.cost_usd is not None:
        return Price(usage.cost_usd, "provider")
    if usage.input_tokens is None or usage.output_tokens is None:
        return UNKNOWN
    models = (model,) if asked is None or asked == model else (model, asked)
    configured = _configured(models, overrides)
    if configured is not None:
        return Price(configured.usd(usage.input_tokens, usage.output_tokens, usage.cached_tokens or 0), "override")
    for name in models:
        usd = _listed_usd(
            provider, name, usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.reasoning_tokens
        )
        if usd is not None:
            return Price(usd, "genai-prices")
    return UNKNOWN


def worst_case_usd(
    provider: str | None,
    model: str,
    prompt_chars: int,
    max_tokens: int | None,
    overrides: Mapping[str, ModelPrice] | None = None,
) -> float | None:
    """The most a call may cost, estimated before it is sent: the prompt's tokens (its characters /
    `CHARS_PER_TOKEN`, none of them cached) and `max_tokens` of answer (`WORST_OUTPUT_TOKENS` when the
    call sets no cap), at the model's price (configured, else genai-prices').

    Returns:
        The estimate in dollars, or None when the model cannot be priced.
    """
    input_tokens = math.ceil(max(prompt_chars, 0) / CHARS_PER_TOKEN)
    output_tokens = WORST_OUTPUT_TOKENS if max_tokens is None else max(max_tokens, 0)
    configured = _configured((model,), overrides)
    if configured is not None:
        return configured.usd(input_tokens, output_tokens)
    return _listed_usd(provider, model, input_tokens, output_tokens)


def _configured(models: tuple[str, ...], overrides: Mapping[str, ModelPrice] | None) -> ModelPrice | None:
    """The configured price of the first of `models` that has one, else the AI's `ANY_MODEL` price."""
    if not overrides:
        return None
    return next((overrides[name] for name in models if name in overrides), overrides.get(ANY_MODEL))


def _listed_usd(
    provider: str | None,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cached: int | None = None,
    reasoning: int | None = None,
) -> float | None:
    """genai-prices' figure for these tokens of `model` at `provider`, or None when it has none."""
    if provider is None:
        return None
    import genai_prices
    from genai_prices.data_snapshot import get_snapshot

    # Not `genai_prices.calc_price`: it caches every model name it is given, for good, and the name comes
    # from the provider's answer (a new name in every answer would grow that cache without end). A provider
    # is looked up by its id (a cache of five), a model by matching its name (0.01-0.3 ms).
    snapshot = get_snapshot()
    try:
        listed = snapshot.find_provider(None, provider, None)
    except LookupError:  # not a provider it lists
        return None
    info = listed.find_model(model, all_providers=snapshot.providers)
    if info is None:
        return None
    counts = genai_prices.Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=min(cached, input_tokens) if cached else None,
        output_reasoning_tokens=min(reasoning, output_tokens) if reasoning else None,
    )
    try:
        calculated = info.calc_price(counts, listed)
    except (ValueError, ArithmeticError):  # counts its price cannot take (it says why; the cost is unknown)
        return None
    usd = float(calculated.total_price)
    return usd if math.isfinite(usd) and usd >= 0 else None


@functools.cache
def load_price_list() -> bool:
    """Import genai-prices and read its price list now (~0.2 s, once), so that the first `price_of` does
    not pay for it on the event loop: for a worker or warm-up thread. Later calls cost nothing."""
    from genai_prices.data_snapshot import get_snapshot

    get_snapshot()
    return True


def price_list_loaded() -> bool:
    """Whether `load_price_list` has run (then pricing never waits for an import)."""
    return load_price_list.cache_info().currsize > 0
