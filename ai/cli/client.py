"""A CLI agent behind the `Sender` interface every AI has (ai.pool): the callers layer gives it its deadline,
cancellation, breaker and concurrency limit like any other AI's client.

    client = CliClient.build(config, settings)
    completion = await client.ask(Request("Review this plan", thread_id="t1"), timeout=60)

The prompt is the request as text: the system prompt, the thread's earlier turns and the question. A thread
that this CLI answered before continues the CLI's own session instead (`--resume`), and then only the new
question is sent. The sessions are kept in `sessions` (ai/cli/sessions.py): in the store when the application
built the client (any server sharing the store resumes them, after a restart too), else in memory.

Where it runs (`cwd`): the project — the client's first MCP root when the call offered roots (`project_root`,
set by the tool layer), else the first of `allowed_roots`, else the server's own working directory (which is
the project's when a client such as Claude Code starts the server there).
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar, cast

from ai.body_cap import size_text
from ai.cli.dialect import CliAnswer, Dialect
from ai.cli.runner import child_environment, run_cli
from ai.cli.sessions import MemorySessions, SessionBook
from ai.request import Completion, Request, Usage
from ai.stream import Received
from core.config.ai import BUILTIN_AIS, AIConfig
from core.config.cli import CLI_KEY_VARS, CLI_MODEL_DEFAULT
from core.config.settings import Settings
from core.errors import AIUnavailable, AnswerTooLarge, EmptyResponse, ProviderError
from core.redact import Redactor
from core.store.turns import CliSession

__all__ = ["CliClient", "dialect_for", "project_root", "prompt_text"]

logger = logging.getLogger("junior_ai.cli")

STDERR_LOGGED_BYTES = 2048  # of a run's stderr tail, what the debug log shows
_N = TypeVar("_N", int, float)
# The project the current call works on (the client's first root, as a path), when the tool layer knows it.
project_root: contextvars.ContextVar[str | None] = contextvars.ContextVar("junior_ai_project_root", default=None)


def dialect_for(cli: str) -> Dialect:
    """The dialect of CLI `cli` ("claude_code", "codex", "gemini_cli"): the `DIALECT` of module ai.cli.<cli>.

    Raises:
        AIUnavailable: no dialect module for it in this version.
    """
    try:
        module = importlib.import_module(f"ai.cli.{cli}")
    except ModuleNotFoundError:
        raise AIUnavailable(cli, "has no dialect in this version of the server") from None
    return cast(Dialect, module.DIALECT)


def prompt_text(request: Request, resumed: bool) -> str:
    """The request as one prompt: the system prompt and the earlier turns (unless the CLI resumes its own
    session, which holds them), then the question."""
    parts: list[str] = []
    if request.system:
        parts.append(f"<instructions>\n{request.system}\n</instructions>")
    if request.history and not resumed:
        turns = "\n\n".join(f"[{message.role}]\n{message.text}" for message in request.history)
        parts.append(f"<conversation so far>\n{turns}\n</conversation so far>")
    parts.append(request.prompt)
    return "\n\n".join(parts)


class CliClient:
    """One CLI AI: its dialect, command, arguments and environment, and the sessions of its threads.

    Attributes:
        name: The AI's configured name.
        model: The model asked ("default": the CLI's own choice).
        dialect: How this CLI is run and read.
        path: The executable.
        sessions: Where its sessions in threads are kept (the application puts the store's here).
    """

    def __init__(
        self,
        config: AIConfig,
        dialect: Dialect,
        *,
        env: Mapping[str, str],
        redactor: Redactor,
        max_answer_bytes: int,
        default_cwd: str,
    ) -> None:
        assert config.cli is not None and config.cli.path is not None  # the pool builds only usable CLI AIs
        self.name = config.name
        self.model = config.model
        self.dialect = dialect
        self.path = config.cli.path
        self.args = config.cli.args
        self.env = dict(env)
        self.redactor = redactor
        self.max_answer_bytes = max_answer_bytes
        self.default_cwd = default_cwd
        self.sessions: SessionBook = MemorySessions()

    @classmethod
    def build(cls, config: AIConfig, settings: Settings, redactor: Redactor) -> CliClient:
        """The client of CLI AI `config`: its environment is the user's minus every other AI's key variables
        (configured or built in, and other CLIs') and this server's secrets, plus its own `env`.

        Raises:
            AIUnavailable: its CLI has no dialect here, or its command was not found.
        """
        assert config.cli is not None
        if config.cli.path is None:
            raise AIUnavailable(config.name, f"its command {config.cli.command!r} was not found")
        dialect = dialect_for(config.cli.cli)
        others = {var for name, ai in settings.ais.items() if name != config.name for var in ai.key_env_vars}
        others |= {var for builtin in BUILTIN_AIS.values() for var in builtin.key_env}
        others |= {var for cli, variables in CLI_KEY_VARS.items() if cli != config.cli.cli for var in variables}
        others -= set(dialect.key_variables)
        added = {key: value.get_secret_value() for key, value in config.cli.env.items()}
        env = child_environment(os.environ, others, added)
        roots = settings.allowed_roots or ()
        cwd = str(roots[0]) if roots else os.getcwd()
        return cls(
            config, dialect, env=env, redactor=redactor, max_answer_bytes=settings.max_answer_bytes, default_cwd=cwd
        )

    def argv(self, request: Request, session: str | None = None) -> tuple[list[str], bytes | None]:
        """The command line for `request`, resuming CLI session `session` if given, and what goes on its stdin
        (None: nothing, stdin closed)."""
        prompt = prompt_text(request, resumed=session is not None)
        model = request.model or self.model
        on_stdin = self.dialect.prompt_on_stdin()
        argv = self.dialect.argv(
            self.path,
            "" if on_stdin else prompt,
            model=None if model == CLI_MODEL_DEFAULT else model,
            session_id=session,
            extra_args=self.args,
        )
        return argv, prompt.encode() if on_stdin else None

    async def ask(self, request: Request, timeout: float | None = None, received: Received | None = None) -> Completion:
        """One run of the CLI for `request` (the caller's cancel scope is its deadline: the run is killed whole
        when it fires).

        Raises:
            ProviderError: typed by the dialect (AuthenticationFailed with the login to run, ...), or
                AnswerTooLarge past `max_answer_bytes`, EmptyResponse for an empty answer.
            AIUnavailable: the command cannot be started.
        """
        thread = request.thread_id
        known = await self.sessions.get(thread, self.name) if thread is not None else None
        argv, stdin = self.argv(request, known.session_id if known is not None else None)
        model = request.model or self.model
        if received is not None:
            received.sent = True  # from here the CLI may spend, however the call ends
        try:
            finished = await run_cli(argv, cwd=self.cwd(), env=self.env, max_bytes=self.max_answer_bytes, stdin=stdin)
        except OSError as error:
            raise AIUnavailable(self.name, f"its command {self.path} could not be started ({error.strerror})") from None
        if finished.too_large:
            limit = f"the answer size limit of {size_text(self.max_answer_bytes)} (max_answer_bytes)"
            raise AnswerTooLarge(self.name, model, f"the CLI's output went past {limit}")
        stdout = self.redactor.clean(finished.stdout.decode("utf-8", "replace")).encode()
        stderr = self.redactor.clean(finished.stderr_tail.decode("utf-8", "replace")).encode()
        if stderr:
            logger.debug(
                "%s: its stderr ended: %s", self.name, stderr[-STDERR_LOGGED_BYTES:].decode("utf-8", "replace")
            )
        try:
            answer = self.dialect.parse(stdout, stderr, finished.returncode, ai=self.name, model=model)
        except ProviderError:
            if thread is not None and known is not None:  # a session that failed (gone, say) is not resumed again
                await self.sessions.drop(thread, self.name)
            raise
        if not answer.text.strip():
            raise EmptyResponse(self.name, model, "the CLI's answer was empty")
        run = self._this_run(known, answer)
        if thread is not None and answer.session_id is not None:
            totals = CliSession(answer.session_id, answer.cost_usd, answer.input_tokens, answer.output_tokens)
            await self.sessions.put(thread, self.name, totals)
        return _completion(run, model)

    def cwd(self) -> str:
        """Where the CLI runs: the call's project root, else the configured or the server's directory."""
        root = project_root.get()
        return root if root and Path(root).is_dir() else self.default_cwd

    def _this_run(self, known: CliSession | None, answer: CliAnswer) -> CliAnswer:
        """The answer with this run's cost and tokens: what the CLI reported, less the resumed session's totals
        before this run where the dialect says its figures are the session's so far (Claude Code's cost,
        Codex's tokens); a figure that was not reported before, or went down, is unknown (never $0 for tokens)."""
        if known is None or known.session_id != answer.session_id:  # a new session: its totals are this run's
            return answer
        before = known
        if self.dialect.tokens_are_cumulative:
            answer = replace(
                answer,
                input_tokens=_less(answer.input_tokens, before.input_tokens),
                output_tokens=_less(answer.output_tokens, before.output_tokens),
            )
        if self.dialect.cost_is_cumulative and answer.cost_usd is not None:
            run = _less(answer.cost_usd, before.cost_usd)
            spent = answer.input_tokens or answer.output_tokens
            answer = replace(answer, cost_usd=run if run is not None and (run > 0 or not spent) else None)
        return answer

    async def list_models(self, timeout: float | None = None) -> list[str]:
        """A CLI lists no models (its `--model` takes the names its own help gives)."""
        return []


def _less(total: _N | None, before: _N | None) -> _N | None:
    """`total` less `before` (a session's figure now and before this run); unknown when either is, or it went down."""
    if total is None or before is None or total < before:
        return None
    return total - before


def _completion(answer: CliAnswer, model: str) -> Completion:
    usage = Usage(answer.input_tokens, answer.output_tokens, cost_usd=answer.cost_usd)
    return Completion(
        text=answer.text,
        model=answer.model or model,
        usage=usage if usage != Usage() else None,
        finish_reason="stop",
    )
