"""The verbs the tools use: `call_ai`, `call_ai_async`, `call_multiple_ais`.

Used standalone (no server), the first call initializes the registry from the configuration.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial

import anyio
from pydantic import BaseModel

from ai.translate import Completion
from core import ai_clients
from core.ai_clients import AI_CLIENTS, ASYNC_AI_CLIENTS, GUARDS, usable_config
from core.deadline import Deadline, within
from core.defaults import ASK_DEADLINE_S, MAX_ANSWER_CHARS, TEMPERATURE
from core.errors import AIUnavailable, DeadlineReached, JuniorAIError, ProviderError, ProviderTimeout
from core.guard import AIGuard
from core.limiter import outcome_of
from core.retry import with_retries

__all__ = [
    "AIResult",
    "Notify",
    "ask_each",
    "call_ai",
    "call_ai_async",
    "call_multiple_ais",
    "complete_async",
    "ensure_registry",
    "labelled",
    "select_ais",
]

logger = logging.getLogger("junior_ai.caller")

# Progress messages, awaited as work finishes ("round 2: grok answered in 1.2 s").
Notify = Callable[[str], Awaitable[None]]

# How long past a fan-out's deadline we wait for calls that did not stop on their own (a sync fallback).
DEADLINE_GRACE_S = 0.5


class AIResult(BaseModel):
    """One AI's part of a multi-AI call: its answer or its error."""

    ai: str
    model: str
    ok: bool
    text: str | None = None
    error: str | None = None
    error_kind: str | None = None
    latency_s: float
    input_tokens: int | None = None
    output_tokens: int | None = None

    def describe(self) -> str:
        """One line for progress messages: "grok answered in 1.2 s" / "grok failed (timeout)"."""
        if self.ok:
            return f"{self.ai} answered in {self.latency_s:.1f} s"
        return f"{self.ai} failed ({self.error_kind})"

    @classmethod
    def answered(cls, name: str, completion: Completion, started: float) -> AIResult:
        """The result for an answer that arrived; `started` is the call's `time.perf_counter()`."""
        usage = completion.usage
        return cls(
            ai=name,
            model=completion.model,
            ok=True,
            text=completion.text,
            latency_s=round(time.perf_counter() - started, 3),
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
        )


def labelled(texts: Mapping[str, str], cap: int) -> str:
    """Several AIs' texts for a prompt: each under its `[name]` label, each cut to `cap` characters."""
    return "\n\n".join(f"[{name}]\n{text[:cap]}" for name, text in texts.items())


def call_ai(
    name: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
) -> str:
    """Ask one AI synchronously and return its answer.

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured: `name` cannot be called (the message says why).
        ProviderError: the provider failed (typed; see core.errors).
    """
    if not ai_clients.is_initialized():
        ai_clients.initialize_all_clients()
    usable_config(name)
    client = AI_CLIENTS.get(name)
    if client is None:
        raise AIUnavailable(name, "could not be built (see the server log)")
    return client.generate(prompt, temperature, max_tokens, system=system, timeout=timeout)


async def ensure_registry() -> None:
    """Used standalone (no server), the first call builds the registry from the configuration."""
    if not ai_clients.is_initialized():
        await ai_clients.initialize_all_clients_async()


async def complete_async(
    name: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> Completion:
    """Ask one AI, resiliently: its circuit breaker first, at most its concurrency limit in flight, each
    attempt within `timeout` (default: the AI's), retried by the one retry loop; the whole call ends
    within `deadline` seconds (default: the ask deadline), waiting for a free slot included.

    Raises:
        UnknownAI, AIUnavailable, NoAIConfigured: `name` cannot be called (the message says why).
        ProviderError: the provider failed for good (typed; see core.errors); CircuitOpen when cooling
            down; DeadlineReached when the call's deadline, not the provider, ended it.
    """
    await ensure_registry()
    config = usable_config(name)
    settings = ai_clients.current_settings()
    guard = GUARDS[name]
    budget = Deadline(deadline if deadline is not None else settings.ask_deadline_s if settings else ASK_DEADLINE_S)
    own_limit = timeout or config.timeout
    started = time.perf_counter()

    async def attempt() -> Completion:
        with guard.breaker.attempt(counts=guard.counts):
            await _take_slot(guard, budget, name, config.model)
            try:
                limit = min(own_limit, budget.remaining())
                # Cut short by the call's deadline rather than the AI's own timeout: not the AI's fault.
                error = ProviderTimeout if limit >= own_limit else DeadlineReached
                completion = await _attempt(name, config.model, prompt, system, temperature, max_tokens, limit, error)
            except BaseException as failure:
                guard.limiter.release(outcome_of(failure))  # a 429 or a timeout lowers the AI's limit
                raise
            guard.limiter.release("ok")
            return completion

    def retried(error: BaseException, delay: float) -> None:
        guard.metrics.retried()
        logger.info("%s: %s; retrying in %.2f s", name, error, delay)

    try:
        completion = await with_retries(attempt, guard.policy, budget, on_retry=retried)
    except ProviderError as error:
        guard.metrics.failed(error.kind, time.perf_counter() - started)
        raise
    usage = completion.usage
    guard.metrics.succeeded(
        time.perf_counter() - started, usage.input_tokens if usage else None, usage.output_tokens if usage else None
    )
    return _capped(completion, settings.max_answer_chars if settings else MAX_ANSWER_CHARS)


def _capped(completion: Completion, limit: int) -> Completion:
    """The answer cut to `limit` characters, with a note saying how much was left out."""
    extra = len(completion.text) - limit
    if extra <= 0:
        return completion
    note = f"\n\n[answer truncated: {extra:,} more characters (max_answer_chars = {limit:,})]"
    return dataclasses.replace(completion, text=completion.text[:limit] + note)


async def _take_slot(guard: AIGuard, budget: Deadline, name: str, model: str) -> None:
    """Wait for one of the AI's concurrency slots, but not past the call's deadline."""
    waited = DeadlineReached(
        name, model, f"no free slot before the deadline ({guard.limiter.in_flight} requests in flight)"
    )
    if budget.remaining() <= 0:
        raise waited
    try:
        with anyio.fail_after(budget.remaining()):
            await guard.limiter.acquire()
    except TimeoutError:
        raise waited from None


async def _attempt(
    name: str,
    model: str,
    prompt: str,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    limit: float,
    timeout_error: type[ProviderTimeout],
) -> Completion:
    """One attempt, within `limit` seconds in all: through the async client, or the sync client in a
    worker thread when there is no async client or it failed before sending (once a request is sent,
    every failure is a typed ProviderError of its answer, so an answer is never sent again)."""
    ends = time.monotonic() + limit
    with within(limit, name, model, timeout_error):
        client = ASYNC_AI_CLIENTS.get(name)
        if client is not None:
            try:
                return await client.complete(prompt, temperature, max_tokens, system=system, timeout=limit + 1)
            except ProviderError:
                raise
            except Exception:  # the fallback the design asks for: logged in full, so a bug is not hidden
                logger.exception("%s: the async client failed before sending; trying the sync client", name)
        sync_client = AI_CLIENTS.get(name)
        if sync_client is None:
            raise AIUnavailable(name, "could not be built (see the server log)")
        left = max(0.001, ends - time.monotonic())
        call = partial(sync_client.complete, prompt, temperature, max_tokens, system=system, timeout=left)
        try:
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            # The worker thread cannot be cancelled; cutting its connection ends its request upstream now.
            sync_client.abort()
            raise


async def call_ai_async(
    name: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
) -> str:
    """Ask one AI asynchronously and return its answer (see `complete_async`)."""
    completion = await complete_async(
        name, prompt, system=system, temperature=temperature, max_tokens=max_tokens, timeout=timeout
    )
    return completion.text


def select_ais(ai_names: Iterable[str] | None) -> list[str]:
    """The AIs a multi-AI call asks: all usable ones, or the given names de-duplicated in order.

    Raises:
        NoAIConfigured: no AI can be called.
        UnknownAI, AIUnavailable: a given name cannot be called.
    """
    settings = ai_clients.current_settings()
    if ai_names is None:
        names = settings.usable_ais if settings else []
        if not names:
            usable_config("")  # raises NoAIConfigured with the set-up guidance
        return names
    names = list(dict.fromkeys(name.strip().lower() for name in ai_names))
    for name in names:
        usable_config(name)
    return names


async def ask_each(
    prompts: Mapping[str, str],
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
    on_result: Callable[[AIResult], Awaitable[None]] | None = None,
) -> list[AIResult]:
    """Ask each AI its own prompt, all at once; one `AIResult` per AI, in the order given.

    Each AI gets its own timeout (or `timeout`), capped by `deadline` seconds for the whole fan-out; an
    AI still unanswered then is marked timed out and the answers that arrived are returned. One AI's
    failure never loses the others' answers. `on_result` is awaited as each AI finishes.

    Raises:
        NoAIConfigured, UnknownAI, AIUnavailable: before any AI is asked, when a name is wrong.
    """
    await ensure_registry()
    models = {name: usable_config(name).model for name in prompts}
    results: dict[str, AIResult] = {}
    started = time.perf_counter()

    async def ask(name: str, prompt: str) -> None:
        try:
            completion = await complete_async(
                name,
                prompt,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                timeout=timeout,
                deadline=deadline,
            )
        except JuniorAIError as error:
            result = _failure(name, models[name], error, started)
        except Exception as error:  # a bug in one AI's path must not lose the others' answers
            logger.exception("%s: unexpected error", name)
            result = _failure(name, models[name], error, started)
        else:
            result = AIResult.answered(name, completion, started)
        results[name] = result
        if on_result is not None:
            await on_result(result)

    # Each call enforces its own limit; this guard only catches what could not be interrupted in time.
    with anyio.move_on_after(None if deadline is None else deadline + DEADLINE_GRACE_S):
        async with anyio.create_task_group() as group:
            for name, prompt in prompts.items():
                group.start_soon(ask, name, prompt)
    for name in prompts:
        if name not in results:
            late = ProviderTimeout(name, models[name], f"no answer before the deadline ({deadline:g} s)")
            results[name] = _failure(name, models[name], late, started)
    return [results[name] for name in prompts]


async def call_multiple_ais(
    prompt: str,
    ai_names: Iterable[str] | None = None,
    *,
    system: str | None = None,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
    on_result: Callable[[AIResult], Awaitable[None]] | None = None,
) -> list[AIResult]:
    """Ask several AIs the same prompt at once (all usable ones by default); total time ≈ the slowest one.

    See `ask_each` for timeouts, the deadline and `on_result`.

    Raises:
        NoAIConfigured, UnknownAI, AIUnavailable: before any AI is asked, when the names are wrong.
    """
    await ensure_registry()
    prompts = dict.fromkeys(select_ais(ai_names), prompt)
    return await ask_each(
        prompts,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=timeout,
        deadline=deadline,
        on_result=on_result,
    )


def _failure(name: str, model: str, error: Exception, started: float) -> AIResult:
    if isinstance(error, ProviderError):
        message, kind = f"{error.reason}" + (f" (HTTP {error.status_code})" if error.status_code else ""), error.kind
    elif isinstance(error, JuniorAIError):
        message, kind = str(error), "unavailable"
    else:
        message, kind = f"internal error ({type(error).__name__})", "internal"
    return AIResult(
        ai=name,
        model=model,
        ok=False,
        error=message,
        error_kind=kind,
        latency_s=round(time.perf_counter() - started, 3),
    )
