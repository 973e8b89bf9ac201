"""The server's prompts, which clients show as slash commands (`/mcp__junior-ai__council` in Claude Code):
each renders one short user message that has the host call the right tool with the right arguments.

    second_opinion   one AI on the code or question at hand, with its files      → ask_ai
    council          answers, anonymous peer review, a chairman's answer          → ai_consensus(method="council")
    debate           the AIs answer each other in rounds                          → ai_debate
    review_changes   the host gathers the diff and the changed files              → ask_all_ais(mode="code_review")

Every argument is optional (a bare `/council` works on the question at hand); those naming AIs, and rounds,
complete through `completion/complete` (tools/completions.py). The messages are pure functions of their
arguments and the configured AIs, so a test reads them without a server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated

from mcp import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

from collab.debate import MAX_ROUNDS
from tools.context import AppContext, app_of

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = [
    "MAX_ARGUMENT_CHARS",
    "PATTERNS",
    "PROMPTS",
    "check_arguments",
    "council_message",
    "debate_message",
    "invalid_argument",
    "names_in",
    "register",
    "review_changes_message",
    "second_opinion_message",
]

MAX_ARGUMENT_CHARS = 2_000  # a prompt argument is a name or a line; the host adds the material itself
SERVER = "junior-ai"  # as the README has people add it; the host's tools are named after it

PROMPTS = ("second_opinion", "council", "debate", "review_changes")  # the prompts' names, as registered

# A prompt argument is a string (the protocol's); these add their descriptions and the length cap.
Question = Annotated[str | None, Field(description="The question (default: the one at hand).")]
AIName = Annotated[str | None, Field(description="Which AI (ai or ai:model).")]
AINames = Annotated[str | None, Field(description="AIs, comma-separated (default: all).")]
# Councils, debates and reviews by several AIs are the calls that outlast a client's tool timeout.
HANDOFF_HINT = "If the result carries a job_id, the work goes on: call `jobs` with it until it is done."
FILES_HINT = "pass the files that matter as `files` (paths relative to the project; the tool reads them)"


_NAME = r"[\w.:/@+-]{1,200}"  # an AI's name, or name:model (model ids hold / : . @ +)
# What a valid value looks like, for the arguments that are more than free text (checked here, not by the SDK's
# argument validation, whose error says only "Error rendering prompt").
PATTERNS: Mapping[str, tuple[re.Pattern[str], str]] = MappingProxyType(
    {
        "ai": (re.compile(_NAME), "an AI's name, or name:model (server_status lists them)"),
        "chairman": (re.compile(_NAME), "an AI's name, or name:model (server_status lists them)"),
        "ais": (re.compile(rf"{_NAME}(?:[\s,]+{_NAME})*,?"), "AI names (or name:model), comma-separated"),
        "rounds": (re.compile(f"[1-{MAX_ROUNDS}]"), f"a number from 1 to {MAX_ROUNDS}"),
        "base": (re.compile(r"[\w./~^@{}-]{1,200}"), "a git revision such as HEAD, main or HEAD~3"),
    }
)


def invalid_argument(name: str, value: str | None) -> str | None:
    """Why a prompt argument's value is not valid (what was wrong and what is valid), or None."""
    if value is None:
        return None
    if len(value) > MAX_ARGUMENT_CHARS:
        return f"{name} is {len(value):,} characters; the limit is {MAX_ARGUMENT_CHARS:,} (the host adds the material)"
    pattern, valid = PATTERNS.get(name, (None, ""))
    if pattern is not None and not pattern.fullmatch(value.strip()):
        return f"{name} must be {valid}; got {value[:40]!r}"
    return None


def check_arguments(**arguments: str | None) -> None:
    """Check a prompt's arguments (`invalid_argument`).

    Raises:
        MCPError: invalid params, naming the first invalid argument, what was wrong and what is valid.
    """
    for name, value in arguments.items():
        problem = invalid_argument(name, value)
        if problem is not None:
            raise MCPError(INVALID_PARAMS, problem)


def names_in(text: str | None) -> list[str]:
    """The AI names in a comma- or space-separated argument, in order, each once."""
    names = [name for name in re.split(r"[\s,]+", text or "") if name]
    return list(dict.fromkeys(names))


def _ais_argument(ais: str | None) -> str:
    names = names_in(ais)
    return f", ais={json.dumps(names)}" if names else ""


def _about(text: str | None, default: str) -> str:
    return f"this question: {text.strip()}" if text and text.strip() else default


def second_opinion_message(question: str | None, ai: str | None, configured: list[str]) -> str:
    """The /second_opinion message: ask one AI about the question or code at hand, with its files."""
    which = f'ai="{ai.strip()}"' if ai and ai.strip() else f"ai set to one of {', '.join(configured) or 'the AIs'}"
    return (
        f"Get a second opinion on {_about(question, 'the code or question we are working on')}. "
        f"Call the {SERVER} tool `ask_ai` with {which}, the question as `prompt`, what it is about (code, an "
        f"error, your current answer) as `context`, and {FILES_HINT}. "
        "Then tell me where it agrees with you, where it does not, and what you would change."
    )


def council_message(question: str | None, ais: str | None, chairman: str | None) -> str:
    """The /council message: the AIs answer, review each other anonymously, and a chairman answers."""
    chair = f', chairman="{chairman.strip()}"' if chairman and chairman.strip() else ""
    return (
        f"Put {_about(question, 'the question we are working on')} to a council of AIs: call the {SERVER} tool "
        f'`ai_consensus` with method="council"{_ais_argument(ais)}{chair}, the question as `question`, your own '
        f"answer as `host_answer` (it is ranked anonymously with theirs), and {FILES_HINT}. "
        "Then give me the chairman's answer, the ranking, and where the council disagreed. " + HANDOFF_HINT
    )


def debate_message(topic: str | None, ais: str | None, rounds: str | None) -> str:
    """The /debate message: the AIs answer each other in rounds."""
    count = f", rounds={int(rounds)}" if rounds and rounds.strip().isdigit() else ""
    subject = f"this topic: {topic.strip()}" if topic and topic.strip() else "the question we are working on"
    return (
        f"Hold a debate between AIs on {subject}: call the {SERVER} tool `ai_debate`{_ais_argument(ais)}{count} "
        f"with the topic as `topic`, your own position as `host_answer`, and {FILES_HINT}. "
        "Then sum up the strongest argument on each side and which way you lean, and why. " + HANDOFF_HINT
    )


def review_changes_message(ais: str | None, focus: str | None, base: str | None) -> str:
    """The /review_changes message: the host gathers the diff and the changed files, several AIs review."""
    against = base.strip() if base and base.strip() else "HEAD"
    ask = "Review these changes: bugs, risks, missing tests" + (f"; above all: {focus.strip()}" if focus else "")
    return (
        f"Review the current changes with several AIs. First gather them: `git diff {against}` (staged and "
        "unstaged) and the list of changed files. Then call the "
        f'{SERVER} tool `ask_all_ais` with mode="code_review"{_ais_argument(ais)}, prompt "{ask}.", the diff '
        f"as `context`, and the changed files as `files` (paths relative to the project). "
        "Then merge their findings: what several AIs flagged first, then the rest, each with whether you agree. "
        + HANDOFF_HINT
    )


def register(server: MCPServer) -> None:
    """Register the prompts on `server`. Their arguments are in the order a slash command takes them
    positionally (`/second_opinion grok`): the AIs first, the free text last."""

    async def second_opinion(ctx: AppContext, ai: AIName = None, question: Question = None) -> str:
        check_arguments(question=question, ai=ai)
        return second_opinion_message(question, ai, app_of(ctx).settings.usable_ais)

    async def council(ais: AINames = None, chairman: AIName = None, question: Question = None) -> str:
        check_arguments(question=question, ais=ais, chairman=chairman)
        return council_message(question, ais, chairman)

    async def debate(
        ais: AINames = None,
        rounds: Annotated[str | None, Field(description="Rounds, 1-5.")] = None,
        topic: Annotated[str | None, Field(description="What to debate.")] = None,
    ) -> str:
        check_arguments(topic=topic, ais=ais, rounds=rounds)
        return debate_message(topic, ais, rounds)

    async def review_changes(
        ais: AINames = None,
        base: Annotated[str | None, Field(description="Diff against (default: HEAD).")] = None,
        focus: Annotated[str | None, Field(description="What to look at most.")] = None,
    ) -> str:
        check_arguments(ais=ais, focus=focus, base=base)
        return review_changes_message(ais, focus, base)

    for function, title, description in (
        (second_opinion, "Second opinion", "Ask one other AI about the code or question at hand, with its files."),
        (council, "AI council", "AIs answer, rank each other's answers anonymously, and a chairman answers."),
        (debate, "AI debate", "AIs debate the question at hand in rounds, each answering the others."),
        (review_changes, "Review changes", "Several AIs review the current git diff and the changed files."),
    ):
        server.prompt(title=title, description=description)(function)
