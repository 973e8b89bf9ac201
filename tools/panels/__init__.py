"""The MCP Apps panels, each one self-contained HTML document (a placeholder until the panels land: the
document carries the data, nothing renders it yet).

    html = panel_html("spend", data={"structuredContent": {...}})   # the data embedded, for a standalone page
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["panel_html"]


def panel_html(name: str, data: dict[str, Any] | None = None) -> str:
    """The panel `name` as one HTML document; with `data`, the data embedded as JSON in
    `<script type="application/json" id="junior-data">`, every "<" escaped so no text in it can close the
    script element."""
    embedded = ""
    if data is not None:
        payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
        embedded = f'<script type="application/json" id="junior-data">{payload}</script>\n'
    title = html.escape(name)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Junior: {title}</title>\n</head>\n<body>\n{embedded}</body>\n</html>\n"
    )
