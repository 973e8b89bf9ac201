"""server_status: which AIs are configured, how, and whether their clients are ready; what has been spent
and what the caps leave; with `models`, each AI's models as its provider lists them."""

import time
from typing import Annotated

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from ai.cli.probe import CliProbe, probe_all
from callers import Junior
from callers.models import AIModels, ModelsReport, list_models
from core.config.settings import Settings, describe_problems
from core.redact import safe_url
from core.resilience.metrics import MetricsSnapshot
from tools.answer import Answer
from tools.boundary import add_tool
from tools.context import AppContext, app_of
from tools.spend_history import SPEND_HISTORY_META, spend_history
from tools.spending import SpendReport, render_spend, spend_report

__all__ = ["SHOWN_MODELS", "AIStatus", "ServerStatus", "register", "render_models", "server_status", "status_tool"]

SHOWN_MODELS = 40  # of one AI's model list, in the text; the structured content has them all


class AIStatus(BaseModel):
    """One configured AI as server_status shows it: never its key, only a masked hint."""

    name: str
    enabled: bool
    usable: bool
    model: str
    base_url: str
    key: str
    key_env: str
    timeout_s: float
    async_client: bool
    sync_client: bool
    metrics: MetricsSnapshot | None
    cli: CliProbe | None = None  # a CLI agent's: found, version, signed in (ai/cli/probe.py)


class ServerStatus(BaseModel):
    """server_status's structured content: the configuration's source and problems, the tool profile,
    every AI."""

    config_file: str | None
    problems: list[str]
    tool_profile: str
    usable: list[str]
    ais: list[AIStatus]
    models: ModelsReport | None = None
    spend: SpendReport | None = None


def server_status(app: Junior) -> ServerStatus:
    """The application's view of every configured AI; keys appear only as masked hints."""
    settings = app.settings
    ais = [
        AIStatus(
            name=name,
            enabled=ai.enabled,
            usable=ai.usable,
            model=ai.model,
            base_url=safe_url(ai.base_url),  # a password written into the URL stays hidden
            key=ai.key_hint,
            key_env=ai.key_env_hint,
            timeout_s=ai.timeout,
            async_client=name in app.pool.async_clients,
            sync_client=name in app.pool.sync_clients,
            metrics=app.guards[name].snapshot() if name in app.guards else None,
        )
        for name, ai in settings.ais.items()
    ]
    for status in ais:
        if settings.ais[status.name].cli is not None:
            status.cli = CliProbe.unprobed(settings.ais[status.name])
    return ServerStatus(
        config_file=str(settings.source) if settings.source else None,
        problems=list(settings.problems),
        tool_profile=settings.tool_profile,
        usable=settings.usable_ais,
        ais=ais,
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _render_metrics(m: MetricsSnapshot) -> str:
    failures = ", ".join(f"{kind} {count}" for kind, count in sorted(m.failures.items())) or "none"
    return (
        f"calls {m.calls} (ok {m.successes}; failed: {failures}), retries {m.retries}, "
        f"latency p50 {_seconds(m.latency_p50_s)} p95 {_seconds(m.latency_p95_s)}, "
        f"tokens {m.input_tokens} in / {m.output_tokens} out, breaker {m.breaker_state} (trips {m.breaker_trips}), "
        f"limit {m.concurrency_limit} in flight"
    )


def _render(status: ServerStatus, problems: str = "") -> str:
    lines = [problems] if problems else []
    lines += [
        f"config: {status.config_file or 'environment only'}; tools: {status.tool_profile}",
        f"usable AIs: {', '.join(status.usable) or 'none (set an API key; see credentials.example.json)'}",
    ]
    for ai in status.ais:
        ready = ai.usable and (ai.async_client or ai.sync_client or ai.cli is not None)  # a CLI has no SDK client
        state = "ready" if ready else ("disabled" if not ai.enabled else "not usable")
        if ai.enabled and ai.key in {"missing", "placeholder"}:
            state = f"needs a key ({ai.key}: set {ai.key_env} or {ai.name}.api_key)"
        lines.append(f"- {ai.name}: {state}, model {ai.model}, {ai.base_url}, key {ai.key}, timeout {ai.timeout_s:g} s")
        if ai.cli is not None:
            lines.append(f"  {ai.cli.line(ai.name)}")
        if ai.metrics is not None:
            lines.append(f"  {_render_metrics(ai.metrics)}")
    return "\n".join(lines)


def _age(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.0f} h ago"


def _model_line(ai: AIModels, now: float) -> str:
    shown = ", ".join(ai.models[:SHOWN_MODELS])
    if len(ai.models) > SHOWN_MODELS:
        shown += f" … and {len(ai.models) - SHOWN_MODELS} more"
    if ai.source == "cache" and ai.fetched_at is not None:
        origin = f"cached {_age(now - ai.fetched_at)}"
    else:
        origin = "from the provider"
    listed = f"{len(ai.models)} models, {origin}: {shown}" if ai.models else f"no models, {origin}"
    if ai.error is None:
        return f"- {ai.name}: {listed}"
    failed = f"- {ai.name}: failed: {ai.error_kind}: {ai.error}"
    return f"{failed}\n  showing the last list ({listed})" if ai.source else failed


def render_models(report: ModelsReport, now: float) -> str:
    """The models section of server_status's text: one line per AI (its first `SHOWN_MODELS` ids), a
    failure with its reason, then the notes; `now` is the wall clock, for the cached lists' ages."""
    lines = ["models (as each provider lists them; ai:model picks one):"]
    lines += [_model_line(ai, now) for ai in report.ais] or ["- no AI can be asked"]
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


async def status_tool(
    ctx: AppContext, models: Annotated[bool, Field(description="List each AI's models.")] = False
) -> Answer:
    """The server_status tool: every AI's configuration and readiness, the spend and the caps; with
    `models`, each AI's models as its provider lists them. A client that renders MCP Apps gets the last 30
    days, day by day, in the result's `_meta` (tools/spend_history.py), for the spend panel's chart."""
    app = app_of(ctx)
    status = server_status(app)
    status.spend = await spend_report(app)
    probes = await probe_all(app.settings.ais, app.pool.clients)
    for ai in status.ais:
        ai.cli = probes.get(ai.name, ai.cli)
    text = _render(status, describe_problems(app.settings)) + "\n\n" + render_spend(status.spend)
    if models:
        status.models = await list_models(app, deadline_s=app.settings.deadline_s)
        text += "\n\n" + render_models(status.models, time.time())
    if client_supports_apps(ctx):  # the others get exactly the text and structured content they always got
        history = await spend_history(app)
        return Answer(text, status, meta={SPEND_HISTORY_META: history.model_dump(mode="json")})
    return Answer(text, status)


def register(server: MCPServer, settings: Settings) -> None:
    """Register server_status on `server`."""
    add_tool(
        server,
        status_tool,
        name="server_status",
        title="Server status",
        description="Which AIs are configured (model, endpoint, masked key) and ready; spend and caps.",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True),
        reports_problems=True,
        panel="spend",
    )
