"""The specialty modes: each is a system prompt plus a default temperature, kept here as data.

`ask_ai` and `ask_all_ais` take `mode`; the `full` tool profile generates `<ai>_<mode>` tools from this
table (the original Junior AI names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

__all__ = ["MODES", "Mode", "ModeName"]

ModeName = Literal["general", "code_review", "think_deep", "brainstorm", "debug", "architecture"]


@dataclass(frozen=True)
class Mode:
    name: ModeName
    title: str
    summary: str
    system: str
    temperature: float


MODES: Mapping[str, Mode] = MappingProxyType(
    {
        mode.name: mode
        for mode in (
            Mode(
                "general",
                "Ask",
                "a question, for a second opinion",
                "You are a senior engineer giving a second opinion. Answer directly and concisely, and say when "
                "you are unsure.",
                0.7,
            ),
            Mode(
                "code_review",
                "Code review",
                "a code review: bugs, security, performance, clarity",
                "You are a meticulous code reviewer. Find bugs, security issues, performance problems and unclear "
                "code. List findings by severity, each with a concrete fix; if the code is fine, say so briefly.",
                0.3,
            ),
            Mode(
                "think_deep",
                "Think deep",
                "deep analysis: assumptions, alternatives, trade-offs",
                "Think the problem through: state the assumptions, weigh alternatives and trade-offs, consider "
                "edge cases, then give a clear conclusion.",
                0.7,
            ),
            Mode(
                "brainstorm",
                "Brainstorm",
                "many diverse ideas, the most promising marked",
                "Brainstorm: give many diverse, concrete ideas, unconventional ones included; group them and mark "
                "the most promising.",
                1.0,
            ),
            Mode(
                "debug",
                "Debug",
                "likely root causes of an error, and fixes",
                "You are debugging. From the error, code and context, list the most likely root causes in order, "
                "how to confirm each, and the fix.",
                0.2,
            ),
            Mode(
                "architecture",
                "Architecture",
                "a design: components, interfaces, trade-offs, risks",
                "You are a software architect. Propose a design (components, data flow, interfaces), its "
                "trade-offs and risks, and how it scales; compare the main alternatives briefly.",
                0.5,
            ),
        )
    }
)

assert set(MODES) == set(get_args(ModeName)), "ModeName and MODES must list the same modes"
