"""A call's cost for one configured AI: what an answer cost, and the most a request may cost.

price = price_for(route.config, completion, request.model)   # core.money.prices' order, for this AI
worst = worst_case_for(route.config, request)                 # checked against the caps before sending
least = streamed_cost_for(route.config, request, 312)         # a call cancelled once 312 tokens had streamed
"""

from __future__ import annotations

from ai.request import Completion, Request
from core.config.settings import AIConfig
from core.money.prices import Price, genai_provider, price_of, worst_case_usd

__all__ = ["price_for", "streamed_cost_for", "worst_case_for"]


def price_for(ai: AIConfig, completion: Completion, asked: str | None = None) -> Price:
    """What `completion` cost: `core.money.prices.price_of` with the AI's provider and configured prices.

    Args:
        ai: The AI that answered.
        completion: Its answer.
        asked: The model asked (None: the AI's model), looked up when the answer names another.
    """
    provider = genai_provider(ai.name, ai.builtin)
    return price_of(provider, completion.model, completion.usage, ai.prices, asked=asked or ai.model)


def worst_case_for(ai: AIConfig, request: Request) -> float | None:
    """The most `request` may cost at `ai`, estimated before it is sent (`core.money.prices.worst_case_usd`): its
    system prompt and every turn's text (images are not counted); None when the model cannot be priced."""
    return _prompt_and(ai, request, request.max_tokens)


def streamed_cost_for(ai: AIConfig, request: Request, output_tokens: int) -> float | None:
    """What `request` cost at `ai` at least, once `output_tokens` of its answer were seen streamed: its
    prompt (estimated as for `worst_case_for`) and those tokens at the model's price; None when the model
    cannot be priced."""
    return _prompt_and(ai, request, output_tokens)


def _prompt_and(ai: AIConfig, request: Request, output_tokens: int | None) -> float | None:
    chars = len(request.system or "") + sum(len(message.text) for message in request.messages)
    model = request.model or ai.model
    return worst_case_usd(genai_provider(ai.name, ai.builtin), model, chars, output_tokens, ai.prices)
