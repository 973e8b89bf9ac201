"""The tools' parameters: types, limits and descriptions in one place, so every tool's schema agrees."""

from typing import Annotated

from pydantic import Field

from collab.modes import ModeName
from core.config.defaults import MAX_DEADLINE_S, MAX_FILES

__all__ = [
    "AINames",
    "CodeContext",
    "ContinuationId",
    "DeadlineS",
    "Files",
    "HostAnswer",
    "MaxCostUSD",
    "MaxTokens",
    "MinAnswers",
    "Mode",
    "Prompt",
    "Temperature",
]

MAX_TOKENS_LIMIT = 200_000
MAX_AIS = 50
MAX_NAME_CHARS = 240  # an AI's name, or `name:model` with a provider's model id
MAX_THREAD_ID_CHARS = 64
MAX_PATH_CHARS = 4096

Prompt = Annotated[str, Field(min_length=1, description="The question or task.")]
CodeContext = Annotated[str | None, Field(description="Code or text to look at.")]
Mode = Annotated[ModeName, Field(description="How to answer; sets the system prompt and temperature.")]
Temperature = Annotated[float | None, Field(ge=0, le=2, description="0-2; default: the mode's.")]
MaxTokens = Annotated[int | None, Field(ge=1, le=MAX_TOKENS_LIMIT, description="Cap on the answer's length.")]
AINames = Annotated[
    list[Annotated[str, Field(max_length=MAX_NAME_CHARS)]] | None,
    Field(min_length=1, max_length=MAX_AIS, description="Which AIs (default: all configured); ai:model picks a model."),
]
DeadlineS = Annotated[
    float | None, Field(ge=1, le=MAX_DEADLINE_S, description="Seconds to finish in; late AIs are marked timed out.")
]
MinAnswers = Annotated[
    int | None, Field(ge=1, le=MAX_AIS, description="Return once this many answered; the rest are cancelled.")
]
ContinuationId = Annotated[
    str | None, Field(max_length=MAX_THREAD_ID_CHARS, description="Continue the thread an answer named.")
]
Files = Annotated[
    list[Annotated[str, Field(max_length=MAX_PATH_CHARS)]] | None,
    Field(max_length=MAX_FILES, description="Paths or globs the server reads and sends."),
]
# Checked by the tool's size check (max_prompt_chars), as the question is.
HostAnswer = Annotated[str | None, Field(description="Your own answer, written first; it joins anonymously.")]
# What the user agreed to spend, read by the spend question (tools/confirm.py) where the client cannot ask. No
# description: every tool's schema is paid for on every turn, and the refusal that needs it says how to use it.
MaxCostUSD = Annotated[float | None, Field(ge=0, allow_inf_nan=False)]
