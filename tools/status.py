"""server_status: which AIs are configured, how, and whether their clients are ready."""

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from core import ai_clients
from core.config import Settings

__all__ = ["AIStatus", "ServerStatus", "register", "server_status"]


class AIStatus(BaseModel):
    name: str
    enabled: bool
    usable: bool
    model: str
    base_url: str
    key: str
    timeout_s: float
    async_client: bool
    sync_client: bool


class ServerStatus(BaseModel):
    config_file: str | None
    tool_profile: str
    usable: list[str]
    ais: list[AIStatus]


def server_status() -> ServerStatus:
    """The registry's view of every configured AI; keys appear only as masked hints."""
    settings = ai_clients.current_settings() or Settings()
    ais = [
        AIStatus(
            name=name,
            enabled=ai.enabled,
            usable=ai.usable,
            model=ai.model,
            base_url=ai.base_url,
            key=ai.key_hint,
            timeout_s=ai.timeout,
            async_client=name in ai_clients.ASYNC_AI_CLIENTS,
            sync_client=name in ai_clients.AI_CLIENTS,
        )
        for name, ai in settings.ais.items()
    ]
    return ServerStatus(
        config_file=str(settings.source) if settings.source else None,
        tool_profile=settings.tool_profile,
        usable=settings.usable_ais,
        ais=ais,
    )


def _render(status: ServerStatus) -> str:
    lines = [
        f"config: {status.config_file or 'environment only'}; tools: {status.tool_profile}",
        f"usable AIs: {', '.join(status.usable) or 'none (set an API key; see credentials.example.json)'}",
    ]
    for ai in status.ais:
        state = "ready" if ai.usable and ai.async_client else ("disabled" if not ai.enabled else "not usable")
        lines.append(f"- {ai.name}: {state}, model {ai.model}, {ai.base_url}, key {ai.key}, timeout {ai.timeout_s:g} s")
    return "\n".join(lines)


def register(server: MCPServer, settings: Settings) -> None:
    """Register server_status on `server`."""

    async def status_tool() -> CallToolResult:
        status = server_status()
        return CallToolResult(
            content=[TextContent(type="text", text=_render(status))], structured_content=status.model_dump()
        )

    server.add_tool(
        status_tool,
        name="server_status",
        title="Server status",
        description="Which AIs are configured (model, endpoint, masked key) and ready.",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False),
    )
