"""What a tool body returns (`Answer`) and how it is rendered for the client: the text with its trailer
(cost, notes, the thread), the structured content, and one AI's answer as a markdown section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from callers import AIResult
from tools.spending import footer, results_in, total_cost, total_line

__all__ = ["TRAILER", "Answer", "section"]

# Between an answer and what the server says about it (cost, notes, the thread): a markdown rule.
TRAILER = "\n\n---\n"


@dataclass(frozen=True)
class Answer:
    """What a tool body returns: readable text for the model, structured content for programs, whether
    the tool failed as a whole (every AI failed), notes the user should read (files cut, history left
    out), the thread the call was recorded in, and `meta`, what the result's `_meta` carries for clients that
    asked for more (the spend history for a client that renders MCP Apps); None: no `_meta`, as ever."""

    text: str
    structured: BaseModel
    failed: bool = False
    notes: tuple[str, ...] = ()
    continuation_id: str | None = None
    meta: Mapping[str, Any] | None = None

    def render(self) -> CallToolResult:
        """The MCP result. Tools declare no output schema: schemas are paid for in the client's context
        on every turn, and the structured shapes are documented in the README instead.

        The text ends with a trailer after a `---` line: the cost (one AI's footer, or the call's total),
        the notes, the continuation_id; the structured content gets `total_cost_usd`, `notes` and
        `continuation_id`."""
        structured = self.structured.model_dump()
        results = results_in(self.structured)
        trailer = []
        if isinstance(self.structured, AIResult):
            trailer.append(footer(self.structured) if self.structured.ok else "")
        elif any(result.ok for result in results):
            trailer.append(total_line(results))
        if results:
            structured["total_cost_usd"] = total_cost(results)
        if self.notes:
            trailer.append("Notes:\n" + "\n".join(f"- {note}" for note in self.notes))
            structured["notes"] = [*structured.get("notes", []), *self.notes]
        if self.continuation_id is not None:
            trailer.append(f"continuation_id: {self.continuation_id} (pass it to continue this conversation)")
            structured["continuation_id"] = self.continuation_id
        text = self.text
        if shown := [line for line in trailer if line]:
            text += TRAILER + "\n".join(shown)
        return CallToolResult(
            _meta=dict(self.meta) if self.meta is not None else None,
            content=[TextContent(type="text", text=text)],
            structured_content=structured,
            is_error=self.failed,
        )


def section(result: AIResult, heading: str = "##") -> str:
    """One AI's answer, or its failure, as a markdown section."""
    if result.ok:
        cut = ", partial" if result.partial else ""  # the text ends with a note saying where it was cut
        title = f"{heading} {result.ai} ({result.model}, {result.latency_s:.1f} s{cut})"
        return f"{title}\n{result.text}\n\n{footer(result)}"
    # A timeout's message states the limit that fired; a second number beside it would only confuse.
    after = "" if result.error_kind == "timeout" else f", after {result.latency_s:.1f} s"
    failure = f"failed: {result.error_kind}{after}"
    return f"{heading} {result.ai} ({result.model}) {failure}\n{result.error}"
