"""The one error tree of Junior AI Assistant.

    JuniorAIError
    ├── ConfigError                 credentials.json or the environment is wrong
    ├── UnknownAI (ValueError)      an AI name that is not configured / not supported
    ├── InvalidRequest (ValueError) arguments that cannot work together (a debate of one AI, say)
    │   └── FileRefused             `files` named a path that is not read: each path with its rule
    ├── NoAIConfigured              no AI has credentials; says how to add one
    ├── AIUnavailable               the AI is configured but disabled or without a key
    ├── StoreUnavailable            the store (threads, caches) cannot be opened: why, and the fix
    ├── UnknownThread (LookupError) a thread id the store does not hold
    ├── ThreadBusy                  another call on the thread held it past this call's deadline
    ├── BudgetExceeded              a call would go over a spending cap: which, what is spent, when it resets
    └── ProviderError               an AI answered with an error, or not at all
        ├── ProviderTimeout         no answer within the AI's timeout (a TimeoutError, so also asyncio's)
        │   └── DeadlineReached     the call's own deadline ran out first: not the provider's fault
        ├── ProviderUnreachable     connection refused, reset, DNS, TLS
        ├── RateLimited             429; carries retry_after (seconds) when the provider said
        ├── AuthenticationFailed    401 / 403: the key is wrong or lacks access
        ├── ModelNotFound           404: the model (or endpoint) does not exist
        ├── BadRequest              400 / 422: the provider rejected the request
        ├── Redirected              3xx: the provider pointed elsewhere; never followed (the key stays home)
        ├── ProviderServerError     5xx: the provider's own trouble
        ├── InvalidResponse         the answer could not be read (not JSON, wrong shape)
        │   └── AnswerTooLarge      a whole answer longer than max_answer_bytes: reading stopped there
        ├── EmptyResponse           the provider answered with no text
        ├── ContentBlocked          a safety or content filter stopped the answer
        ├── CircuitOpen             the AI failed too often lately; calls fail at once (carries retry_in)
        └── InternalError           our own code failed on the answer (a bug, logged with its traceback)

Every ProviderError carries `ai`, `model`, `status_code` (None when there was no HTTP answer), a
readable `reason` and a short `kind`; it is raised `from` the SDK exception. No message ever contains
an API key. When the call's deadline ends a run of retries, the error raised is the provider's last one
(its class, kind and status kept; `ended_by_deadline`), its message ending "retried 3 times until the
deadline"; DeadlineReached is raised only when the provider gave no error before it.
"""

from __future__ import annotations

import time
from typing import Self

__all__ = [
    "AIUnavailable",
    "AnswerTooLarge",
    "AuthenticationFailed",
    "BadRequest",
    "BudgetExceeded",
    "CircuitOpen",
    "ConfigError",
    "ContentBlocked",
    "DeadlineReached",
    "EmptyResponse",
    "FileRefused",
    "InternalError",
    "InvalidRequest",
    "InvalidResponse",
    "JuniorAIError",
    "ModelNotFound",
    "NoAIConfigured",
    "ProviderError",
    "ProviderServerError",
    "ProviderTimeout",
    "ProviderUnreachable",
    "RateLimited",
    "Redirected",
    "StoreUnavailable",
    "ThreadBusy",
    "UnknownAI",
    "UnknownThread",
]


class JuniorAIError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(JuniorAIError):
    """The configuration (file or environment) is invalid; the message names file, AI and field."""


class UnknownAI(JuniorAIError, ValueError):
    """An AI name that is not among the valid ones."""

    def __init__(self, name: str, valid: list[str], what: str = "configured") -> None:
        self.name = name
        self.valid = sorted(valid)
        listed = ", ".join(self.valid) if self.valid else "none"
        super().__init__(f"unknown AI {name!r}; {what}: {listed}")


class InvalidRequest(JuniorAIError, ValueError):
    """The arguments are each valid but cannot work together; the message says what would."""


class FileRefused(InvalidRequest):
    """Paths named in `files` that are not read: a secret, outside the allowed roots, missing, a directory,
    a glob that matches nothing. The message lists every refusal of the call, one per line.

    Attributes:
        refusals: (path as given, quoted when it holds a character that is not printable; the rule that
            refused it, with what is allowed), in the order given.
    """

    def __init__(self, refusals: tuple[tuple[str, str], ...]) -> None:
        self.refusals = refusals
        lines = "\n".join(f"  {path}: {rule}" for path, rule in refusals)
        count = "1 path" if len(refusals) == 1 else f"{len(refusals)} paths"
        super().__init__(f"files: {count} refused, so nothing was sent:\n{lines}")


class NoAIConfigured(JuniorAIError):
    """No AI has what it needs to be called."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "no AI is configured. Set an API key in the environment (GEMINI_API_KEY, OPENAI_API_KEY, "
            "XAI_API_KEY, DEEPSEEK_API_KEY, OPENROUTER_API_KEY) or create credentials.json from "
            "credentials.example.json, then restart the server"
        )
        super().__init__(f"{message} ({detail})" if detail else message)


class AIUnavailable(JuniorAIError):
    """An AI that is configured but cannot be called: disabled, without an API key, or not built."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        super().__init__(f"{name} {why}")


class StoreUnavailable(JuniorAIError):
    """The store cannot be opened or used: locked, corrupt, unreachable, a bad URL, a newer schema. Asking
    never breaks because of it: the callers go on without history and say why.

    Attributes:
        url: The store's URL as it may be shown (its password masked).
        reason: What went wrong, free of secrets.
        fix: What to change so that it works.
    """

    def __init__(self, url: str, reason: str, fix: str) -> None:
        self.url = url
        self.reason = reason
        self.fix = fix
        super().__init__(f"the store ({url}) cannot be used: {reason}. Fix: {fix}")


class UnknownThread(JuniorAIError, LookupError):
    """A thread id the store does not hold (never created, expired or deleted)."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(
            f"no thread {thread_id!r} in the store (it may have expired or been deleted); "
            "the threads tool lists them, or leave continuation_id out to start a new one"
        )


class ThreadBusy(JuniorAIError):
    """Calls on one thread take turns; this one waited for the thread longer than its deadline."""

    def __init__(self, thread_id: str, waited_s: float) -> None:
        self.thread_id = thread_id
        self.waited_s = waited_s
        super().__init__(
            f"thread {thread_id!r} stayed busy with another call for over {waited_s:g} s; try again when that "
            "call has answered, or leave continuation_id out to start a new thread"
        )


class BudgetExceeded(JuniorAIError):
    """A call would go over a spending cap, so nothing was sent.

    Attributes:
        cap: The cap's name: "per-call", "daily", "monthly", "daily:gemini", ...
        limit_usd: The cap, in US dollars.
        spent_usd: What its window has spent and holds for calls in flight (0 for the per-call cap).
        estimate_usd: What this call may cost at most.
        resets_at: When the window ends (seconds since the epoch), or None (the per-call cap).
        kind: "budget_exceeded" (a class attribute, as `ProviderError.kind`).
    """

    kind = "budget_exceeded"

    def __init__(
        self, cap: str, limit_usd: float, spent_usd: float, estimate_usd: float, resets_at: float | None
    ) -> None:
        self.cap = cap
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.estimate_usd = estimate_usd
        self.resets_at = resets_at
        may_cost = f"this call may cost up to {_usd(estimate_usd)}"
        if resets_at is None:
            super().__init__(
                f"{cap} cap of {_usd(limit_usd)} exceeded: {may_cost}, so it was not sent; ask for a shorter "
                "answer, or raise max_usd_per_call"
            )
            return
        scope, _, ai = cap.partition(":")
        period = {"daily": "today", "monthly": "this month"}.get(scope, "")
        owner, on = (f"{ai}'s ", f" on {ai}") if ai else ("", "")
        resets = time.strftime("%Y-%m-%d %H:%M", time.gmtime(resets_at))
        super().__init__(
            f"{owner}{scope} cap of {_usd(limit_usd)} reached: {_usd(spent_usd)} spent{on} {period}, "
            f"{may_cost}; resets {resets} UTC"
        )


def _usd(amount: float) -> str:
    """Dollars as people read them: cents, or the first digits that are not zero below a cent."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.6f}".rstrip("0")


class ProviderError(JuniorAIError):
    """An AI provider call failed.

    Attributes:
        ai: The AI's configured name (e.g. "grok").
        model: The model that was asked.
        status_code: The HTTP status, or None when no HTTP answer arrived.
        reason: A readable reason, free of secrets.
        retries_before_deadline: When the call's deadline ended a run of retries and this error was the
            last the provider gave: the retries taken (0: the deadline left no time for one); else None.
        fix: What to change so that it works, when the configuration can tell ("set XAI_API_KEY or
            grok.api_key in ~/.config/junior-ai/credentials.json"); else None.
        kind: The error's short, stable name ("timeout", "rate_limited", ...), as metrics and results
            report it (a class attribute).
    """

    kind = "provider_error"

    def __init__(self, ai: str, model: str, reason: str, status_code: int | None = None) -> None:
        self.ai = ai
        self.model = model
        self.reason = reason
        self.status_code = status_code
        self.retries_before_deadline: int | None = None
        self.fix: str | None = None
        super().__init__(self._message())

    @property
    def detail(self) -> str:
        """The reason, the HTTP status and how the retries ended, without the AI's name:
        "rate limited (HTTP 429), retried 3 times until the deadline"."""
        return f"{self.reason}{self._status()}{self._retries()}{self._fix()}"

    def ended_by_deadline(self, retries: int) -> Self:
        """This error (a copy: the same class and fields) as the call's final one, the call's deadline having
        ended its retries after `retries` of them; its message says so."""
        return self._copy(retries_before_deadline=retries)

    def with_fix(self, fix: str | None) -> Self:
        """This error (a copy) with what to change so that it works; itself when there is nothing to say."""
        return self if not fix else self._copy(fix=fix)

    def _copy(self, **changes: object) -> Self:
        final = type(self).__new__(type(self))
        final.__dict__.update(self.__dict__, **changes)
        final.args = (final._message(),)
        final.__cause__ = self.__cause__
        return final

    def _message(self) -> str:
        return f"{self.ai} ({self.model}){self._status()}: {self.reason}{self._retries()}{self._fix()}"

    def _fix(self) -> str:
        return f". Fix: {self.fix}" if self.fix else ""

    def _status(self) -> str:
        return f" (HTTP {self.status_code})" if self.status_code is not None else ""

    def _retries(self) -> str:
        retries = self.retries_before_deadline
        if retries is None:
            return ""
        if retries == 0:
            return ", not retried: too little time was left before the deadline"
        times = {1: "once", 2: "twice"}.get(retries, f"{retries} times")
        return f", retried {times} until the deadline"


class ProviderTimeout(ProviderError, TimeoutError):
    """The AI did not answer within its timeout."""

    kind = "timeout"


class DeadlineReached(ProviderTimeout):
    """The call's deadline (not the AI's own timeout) ended the wait; it says nothing of the provider."""


class ProviderUnreachable(ProviderError):
    """No connection to the AI: refused, reset, DNS or TLS failed."""

    kind = "unreachable"


class RateLimited(ProviderError):
    """429: the AI asked us to slow down.

    Attributes:
        retry_after: Seconds the provider asked us to wait (Retry-After), or None when it did not say.
    """

    kind = "rate_limited"

    def __init__(
        self, ai: str, model: str, reason: str, status_code: int | None = 429, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(ai, model, reason, status_code)


class AuthenticationFailed(ProviderError):
    """401 / 403: the key is wrong, expired, or lacks access to the model."""

    kind = "auth"


class ModelNotFound(ProviderError):
    """404: the model (or the endpoint under the base URL) does not exist."""

    kind = "not_found"


class BadRequest(ProviderError):
    """400 / 422: the provider rejected the request itself; sending it again would not help."""

    kind = "bad_request"


class Redirected(ProviderError):
    """3xx. Never followed: the request carries the key, and a redirect may point at another host.

    Attributes:
        location: Where it pointed, as scheme://host:port only (no user, path or query), or a
            description when the Location header was missing, relative or unreadable.
    """

    kind = "redirected"

    def __init__(self, ai: str, model: str, reason: str, status_code: int | None, location: str) -> None:
        self.location = location
        super().__init__(ai, model, reason, status_code)


class ProviderServerError(ProviderError):
    """5xx: the provider's own trouble, often brief."""

    kind = "server_error"


class InvalidResponse(ProviderError):
    """The answer could not be read: not JSON, or not the shape the API promises."""

    kind = "invalid_response"


class AnswerTooLarge(InvalidResponse):
    """A whole (not streamed) answer was longer than `max_answer_bytes`: reading stopped at the cap, and
    a JSON answer cut short cannot be read. Not retried: the same question would bring the same answer."""

    kind = "answer_too_large"


class EmptyResponse(ProviderError):
    """The provider answered, but with no text."""

    kind = "empty_response"


class ContentBlocked(ProviderError):
    """A safety or content filter stopped the answer."""

    kind = "content_blocked"


class CircuitOpen(ProviderError):
    """The AI failed too often lately; calls fail at once until its breaker lets a probe through.

    Attributes:
        retry_in: Seconds until a call may go through again.
    """

    kind = "circuit_open"

    def __init__(self, ai: str, model: str, reason: str, retry_in: float) -> None:
        self.retry_in = retry_in
        super().__init__(ai, model, reason)


class InternalError(ProviderError):
    """Our own code failed on the provider's answer (a bug, not the provider's doing): logged with its
    traceback where it happened, never retried (asking again would fail the same way, and be billed again)."""

    kind = "internal"
