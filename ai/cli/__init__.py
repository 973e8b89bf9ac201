"""CLI agents (Claude Code, Codex, Gemini CLI) as AIs: one dialect module per CLI, one runner for all."""

__all__: list[str] = []
