"""`junior-ai --check`, command-line code: a table of the configured AIs, then one tiny live call to each
usable one."""

from __future__ import annotations

from typing import TextIO

from ai.request import Request
from callers import AIResult, Junior, ask_all
from core.config import AIConfig, Settings, describe_problems
from core.credentials import lookup_order
from core.redact import Redactor, safe_url

__all__ = ["CHECK_PROMPT", "run_check"]

CHECK_PROMPT = "Reply with the single word OK."
CHECK_DEADLINE_S = 30.0


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _outcome(result: AIResult | None, ai: AIConfig) -> str:
    if not ai.enabled:
        return "disabled"
    if not ai.usable:
        what = "a placeholder, not a key" if ai.placeholder_key else "no API key"
        return f"NEEDS A KEY: {what}; set {ai.key_env_hint} or {ai.name}.api_key"
    if result is None:
        return "FAILED: not asked"
    if result.ok:
        return f"OK ({result.latency_s:.2f} s)"
    return f"FAILED: {result.error_kind}: {result.error}"


async def run_check(settings: Settings, out: TextIO) -> int:
    """Print the table, ask every usable AI once; 0 only if every enabled AI answered.

    Never prints an API key (only its masked hint), and every line is cleaned before it is printed: a
    provider's answer or error may hold anything.
    """

    redactor = Redactor(settings.secrets)

    def say(text: str) -> None:
        print(redactor.clean(text), file=out)

    if settings.problems:
        say(describe_problems(settings))
    if not settings.ais:
        if not settings.problems:
            where = lookup_order()
            say(f"No AI is configured: set an API key (e.g. GEMINI_API_KEY) or create credentials.json ({where}).")
        return 1
    usable = settings.usable_ais
    async with Junior.build(settings) as app:
        request = Request(CHECK_PROMPT, max_tokens=16, deadline=CHECK_DEADLINE_S)
        results = await ask_all(app, usable, request) if usable else []
    by_ai = {result.ai: result for result in results}
    rows = [["AI", "enabled", "model", "base URL", "key", "check"]]
    for name, ai in settings.ais.items():
        rows.append(
            [
                name,
                "yes" if ai.enabled else "no",
                ai.model,
                safe_url(ai.base_url),
                ai.key_hint,
                _outcome(by_ai.get(name), ai),
            ]
        )
    say(f"config: {settings.source or 'environment only'}")
    say(_table(rows))
    enabled = [name for name, ai in settings.ais.items() if ai.enabled]
    answered = [name for name in enabled if name in by_ai and by_ai[name].ok]
    if not enabled:
        say("no AI is enabled")
        return 1
    summary = (
        "all enabled AIs answered" if answered == enabled else f"{len(answered)} of {len(enabled)} enabled AIs answered"
    )
    say(summary)
    return 0 if answered == enabled and not settings.problems else 1
