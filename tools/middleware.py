"""The MCP middleware the tools need on their way out: `tools/list` with compact input schemas
(`compact_tool_list`), and every result redacted and cleaned (`redact_results`)."""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import ListToolsResult
from pydantic import BaseModel

from callers import Junior
from core.redact import Redactor

__all__ = ["compact_schema", "compact_tool_list", "redact_results"]


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema as clients are sent it: no generated titles ("Max Tokens" beside
    "max_tokens"), and an optional parameter shown as its type alone rather than "that type, or null,
    default null" (leaving it out is how a client says null). Every tool's schema is paid for in the
    client's context on every turn; the server still validates against the full one."""
    compact = {key: value for key, value in schema.items() if key != "title"}
    properties = compact.get("properties")
    if isinstance(properties, dict):
        compact["properties"] = {name: _compact_property(value) for name, value in properties.items()}
    return compact


def _compact_property(schema: dict[str, Any]) -> dict[str, Any]:
    compact = {key: value for key, value in schema.items() if key != "title"}
    variants = compact.get("anyOf")
    if compact.get("default", ...) is None and isinstance(variants, list) and {"type": "null"} in variants:
        kept = [variant for variant in variants if variant != {"type": "null"}]
        if len(kept) == 1 and isinstance(kept[0], dict):
            del compact["anyOf"], compact["default"]
            compact = {**kept[0], **compact}
    return compact


async def compact_tool_list(ctx: ServerRequestContext[Junior, Any], call_next: CallNext) -> HandlerResult:
    """MCP middleware: `tools/list` answers with compact input schemas (`compact_schema`)."""
    result = await call_next(ctx)
    if ctx.method != "tools/list":
        return result
    if isinstance(result, ListToolsResult):
        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        result["tools"] = [_compact_tool(tool) for tool in result["tools"]]
    return result


def _compact_tool(tool: Any) -> Any:
    if isinstance(tool, dict) and isinstance(tool.get("inputSchema"), dict):
        return {**tool, "inputSchema": compact_schema(tool["inputSchema"])}
    return tool


async def redact_results(ctx: ServerRequestContext[Junior, Any], call_next: CallNext) -> HandlerResult:
    """MCP middleware, the one place every result passes on its way out: no key leaves in it, whether
    a provider echoed it, an AI repeated it, or a validation message quoted it, and every text in it can
    be encoded (the stdio wire cleans anything else that cannot)."""
    result = await call_next(ctx)
    if isinstance(result, BaseModel):
        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    redactor: Redactor = ctx.lifespan_context.redactor
    return redactor.clean_data(result) if result is not None else None
