"""The MCP Apps panels (the `io.modelcontextprotocol/ui` extension): one self-contained HTML document per
panel, served as a `ui://junior/<name>` resource, and the `_meta.ui.resourceUri` that ties a tool to one.

A panel is assembled from static/: the shared theme, the panel's own CSS and rendering script (each
defines `renderPanel(root, structured, meta)`), the safe markdown renderer, and the app side of the Apps
protocol (static/bridge.js), which hands the tool's result to `renderPanel`. Everything is inline: the
host's iframe allows no network. Clients that do not declare Apps see the same text and structured content
as without panels; the tools' `_meta` and the resources are all they gain.

    apps = panels_extension()                        # MCPServer(extensions=[..., apps])
    add_tool(server, ask_all_ais, ..., meta=tool_meta("answers"))
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, get_args

from mcp.server.apps import Apps

__all__ = ["PANELS", "PanelName", "panel_html", "panel_uri", "panels_extension", "tool_meta"]

PanelName = Literal["answers", "council", "spend"]
PANELS: tuple[PanelName, ...] = get_args(PanelName)
URI_PREFIX = "ui://junior/"
MAX_PANEL_BYTES = 60_000  # issue 24: a panel is one document a host loads whole; tests hold every panel to it

_TITLES = MappingProxyType({"answers": "The AIs' answers", "council": "The council", "spend": "Spend and health"})
# The council panel also renders ai_consensus's votes (one tool, two shapes): it carries the answers panel's
# renderer too, as `renderAnswers` (bridge.js picks it for a result whose method is not "council").
_ALSO = MappingProxyType({"council": ("answers",)})


def panel_uri(name: PanelName) -> str:
    """The `ui://` resource a panel is served as."""
    return URI_PREFIX + name


def tool_meta(name: PanelName) -> dict[str, Any]:
    """A tool's `_meta` tying it to panel `name` (what an Apps host reads to show the panel)."""
    return {"ui": {"resourceUri": panel_uri(name)}}


def _static(filename: str) -> str:
    """A file of static/, or "" when there is none (a panel's own CSS is optional)."""
    path = resources.files(__package__).joinpath("static", filename)
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _data_script(data: dict[str, Any]) -> str:
    # JSON inside <script> is safe once no "<" can close the element or open a comment.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="junior-data">{text}</script>'


@functools.cache
def _scripts(name: PanelName) -> tuple[str, str]:
    """The panel's CSS and script, read once."""
    css = _static("theme.css") + _static(f"{name}.css")
    parts = [_static("markdown.js")]
    for other in _ALSO.get(name, ()):
        # Its renderPanel stays local to the function: the panel's own is the global one.
        own = _static(f"{other}.js")
        parts.append(
            f'var renderAnswers=(function(){{\n{own}\nreturn typeof renderPanel=="function"?renderPanel:null}})();'
        )
    parts += [_static(f"{name}.js"), _static("bridge.js")]
    return css, "\n".join(parts)


@functools.cache
def _page(name: PanelName) -> tuple[str, str]:
    css, script = _scripts(name)
    head = (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f'<style>{css}</style></head><body><main id="app"></main>'
    )
    return head, f"<script>{script}</script></body></html>"


def panel_html(name: PanelName, data: dict[str, Any] | None = None) -> str:
    """Panel `name` as one self-contained HTML document. With `data` (a tool's result,
    `{"structuredContent": ..., "_meta": ...}`, or its structured content alone), the page renders it by itself,
    without a host (what /dashboard serves); without, it waits for the host's result.

    Raises:
        ValueError: `name` is not a panel.
    """
    if name not in PANELS:
        raise ValueError(f"unknown panel {name!r}; valid: {', '.join(PANELS)}")
    head, tail = _page(name)
    return head + ("" if data is None else _data_script(data)) + tail


def panels_extension() -> Apps:
    """The SDK's Apps extension with every panel as a `ui://junior/<name>` resource."""
    apps = Apps()
    for name in PANELS:
        apps.add_html_resource(panel_uri(name), panel_html(name), name=f"{name} panel", title=_TITLES[name])
    return apps
