"""What a key may look like: printable ASCII (anything else is a copying mistake, reported without the
key), and not a placeholder (the example file's values, "<key>", "changeme", ...), which is no key."""

from __future__ import annotations

import re
import unicodedata

from core.errors import ConfigError

__all__ = ["check_key", "describe_char", "is_placeholder"]

# What people leave where a key goes: the example file's values ("your-gemini-api-key"), "<key>",
# "${KEY}", "changeme", "xxxx", "...", "TODO" and the like. Real keys look like none of these.
_PLACEHOLDER = re.compile(
    r"(?i)^(?:your[-_ ].*|.*[-_ ]here|<.*>|\{\{.*\}\}|\$\{.*\}|change[-_ ]?me|replace[-_ ]?me|todo|tbd|placeholder"
    r"|x{3,}|\*{3,}|\.{3,}|…+|(?:sk-)?\.\.\.|api[-_ ]?key|none|null)$"
)


def is_placeholder(key: str) -> bool:
    """Whether `key` is a stand-in for a key rather than one (an empty key is simply missing)."""
    return _PLACEHOLDER.match(key.strip()) is not None


def check_key(key: str, name: str, where: str) -> None:
    """A key is printable ASCII: HTTP headers carry nothing else, and a stray character is a copying
    mistake the provider would only answer with a baffling error (httpx cannot even send it).

    Raises:
        ConfigError: naming where the key came from, the AI, the character and its position; never the key.
    """
    key = key.strip()  # leading and trailing whitespace is dropped, as it always was
    for position, char in enumerate(key, start=1):
        if not "!" <= char <= "~":
            raise ConfigError(
                f"{where}: {name}: api_key contains {describe_char(char)} at position {position}; re-copy the key"
            )


def describe_char(char: str) -> str:
    if char == " ":
        return "a space"
    name = unicodedata.name(char, "").lower() or ("a control character" if ord(char) < 0x20 else "a character")
    article = "" if name.startswith("a ") else ("an " if name[0] in "aeiou" else "a ")
    return f"{article}{name} (U+{ord(char):04X})"
