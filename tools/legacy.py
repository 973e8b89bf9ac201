"""The `full` profile: the original Junior AI tool names for each AI, generated from the mode table.

`ask_<ai>` (general mode) and `<ai>_code_review`, `<ai>_think_deep`, `<ai>_brainstorm`, `<ai>_debug`,
`<ai>_architecture`, each a thin ask_ai with the AI and the mode fixed.
"""

from collections.abc import Awaitable, Callable

from mcp.server.mcpserver import MCPServer

from collab.modes import MODES, Mode
from core.config.settings import Settings
from tools.answer import Answer
from tools.ask import ask_one
from tools.boundary import add_tool
from tools.confirm import Spends
from tools.context import AppContext
from tools.params import CodeContext, ContinuationId, Files, MaxTokens, Prompt, Temperature

__all__ = ["register", "tool_name"]

AskTool = Callable[..., Awaitable[Answer]]


def tool_name(ai: str, mode: Mode) -> str:
    return f"ask_{ai}" if mode.name == "general" else f"{ai}_{mode.name}"


def _tool(ai: str, mode: Mode) -> AskTool:
    async def ask(
        prompt: Prompt,
        ctx: AppContext,
        context: CodeContext = None,
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        continuation_id: ContinuationId = None,
        files: Files = None,
    ) -> Answer:
        return await ask_one(
            ctx,
            ai,
            mode.name,
            prompt,
            context,
            temperature,
            max_tokens,
            continuation_id=continuation_id,
            files=files,
            tool=tool_name(ai, mode),
        )

    return ask


def register(server: MCPServer, settings: Settings) -> None:
    """Register the per-AI tools for every usable AI."""
    for ai in settings.usable_ais:
        for mode in MODES.values():
            add_tool(
                server,
                _tool(ai, mode),
                name=tool_name(ai, mode),
                title=f"{mode.title} ({ai})",
                description=f"Ask {ai} for {mode.summary}.",
                spends=Spends(ai=ai),
            )
