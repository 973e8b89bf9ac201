"""`junior-ai --check`, command-line code: a table of the configured AIs, then one tiny live call to each
usable one, and the store's state (where it is, whether it opens, its schema's version)."""

from __future__ import annotations

from typing import TextIO

import anyio

from ai.cli.probe import probe_all
from ai.request import Request
from callers import AIResult, Junior, ask_all
from core.config.credentials import lookup_order
from core.config.settings import AIConfig, Settings, describe_problems
from core.errors import StoreUnavailable
from core.redact import Redactor, safe_url
from core.store.url import store_url

__all__ = ["CHECK_PROMPT", "run_check", "store_state"]

CHECK_PROMPT = "Reply with the single word OK."
CHECK_DEADLINE_S = 30.0
WITHOUT_STORE = "Asking works without it (no threads, no model cache)"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _outcome(result: AIResult | None, ai: AIConfig) -> str:
    if not ai.enabled:
        return "disabled"
    if not ai.usable and ai.cli is not None:
        return f"NOT FOUND: {ai.cli.command!r} is not on PATH (install it, or give its absolute path)"
    if not ai.usable:
        what = "a placeholder, not a key" if ai.placeholder_key else "no API key"
        return f"NEEDS A KEY: {what}; set {ai.key_env_hint} or {ai.name}.api_key"
    if result is None:
        return "FAILED: not asked"
    if result.ok:
        return f"OK ({result.latency_s:.2f} s)"
    return f"FAILED: {result.error_kind}: {result.error}"


async def store_state(app: Junior) -> str:
    """One line on the application's store: where it is (its password masked), that it opens and its
    schema's version; or, as a warning, why it cannot be used and the fix. Opening it creates it, as the
    server's first use would."""
    try:
        with anyio.fail_after(CHECK_DEADLINE_S):
            store = await app.store()
            version = await store.schema_version()
    except StoreUnavailable as error:
        return f"store: {error.url}: WARNING: cannot be used: {error.reason}. Fix: {error.fix}. {WITHOUT_STORE}"
    except TimeoutError:
        shown = safe_url(store_url(app.settings))
        return f"store: {shown}: WARNING: did not open within {CHECK_DEADLINE_S:g} s. {WITHOUT_STORE}"
    shown = store.location.shown if store.location is not None else safe_url(store.url)
    created = " (created now)" if store.applied and store.applied[0] == 1 else ""
    migrated = f" (migrated now: {', '.join(map(str, store.applied))})" if store.applied and not created else ""
    return f"store: {shown}: opens, schema version {version}{created}{migrated}"


async def run_check(settings: Settings, out: TextIO) -> int:
    """Print the table, ask every usable AI once, report the store; 0 only if every enabled AI answered.

    A store that cannot be used is a warning, not a failure: asking works without it (it holds threads
    and caches), so it does not change the exit code.

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
    results, store_line = await _ask_and_open(settings)
    by_ai = {result.ai: result for result in results}
    say(f"config: {settings.source or 'environment only'}")
    say(_table(_rows(settings, by_ai)))
    for line in await _cli_lines(settings):
        say(line)
    say(store_line)
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


async def _ask_and_open(settings: Settings) -> tuple[list[AIResult], str]:
    """Every usable AI's answer to the check prompt, and the store's line, both at once: the check takes
    the slower's time."""
    usable = settings.usable_ais
    async with Junior.build(settings) as app:
        request = Request(CHECK_PROMPT, max_tokens=16, deadline=CHECK_DEADLINE_S)
        results: list[AIResult] = []
        store_line = ""

        async def ask() -> None:
            results.extend(await ask_all(app, usable, request) if usable else [])

        async def check_store() -> None:
            nonlocal store_line
            store_line = await store_state(app)

        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            group.start_soon(check_store)
    return results, store_line


async def _cli_lines(settings: Settings) -> list[str]:
    """A line per CLI AI: found on PATH, its version, signed in, its limits (nothing for HTTP AIs)."""
    if not any(ai.cli is not None for ai in settings.ais.values()):
        return []
    async with Junior.build(settings) as app:
        probes = await probe_all(settings.ais, app.pool.clients)
    return [probe.line(name) for name, probe in probes.items()]


def _rows(settings: Settings, by_ai: dict[str, AIResult]) -> list[list[str]]:
    """The table's rows: a header, then each configured AI (its key as a masked hint) and its check."""
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
    return rows
