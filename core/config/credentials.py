"""Where credentials.json is, and reading it safely: the lookup order, then the file's bytes as a JSON
object, every way a file can be wrong (missing, a directory, a FIFO, unreadable, empty, not UTF-8,
not JSON, nested too deeply, too large) reported in one line that names the file and the fix."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ConfigError

__all__ = [
    "CREDENTIALS_ENV",
    "PROJECT_ROOT",
    "USER_CREDENTIALS",
    "find_credentials_file",
    "lookup_order",
    "read_credentials",
    "warn_if_readable_by_others",
]

logger = logging.getLogger("junior_ai.config")

CREDENTIALS_ENV = "JUNIOR_AI_CREDENTIALS"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
USER_CREDENTIALS = Path("~/.config/junior-ai/credentials.json")
MAX_CREDENTIALS_BYTES = 1_000_000  # a credentials file is a few hundred bytes; more is a wrong file


def lookup_order() -> str:
    """Where credentials.json may live, in the order it is looked for (for messages that send users there)."""
    return (
        f"--credentials PATH, then ${CREDENTIALS_ENV}, then {PROJECT_ROOT / 'credentials.json'}, "
        f"then {USER_CREDENTIALS}"
    )


def find_credentials_file(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """Where the credentials come from: the explicit path, $JUNIOR_AI_CREDENTIALS, beside server.py, ~/.config.

    Whatever exists at the chosen path is returned, a directory or a FIFO too: reading it then says
    what is wrong with it, rather than the lookup passing over it in silence.

    Raises:
        ConfigError: an explicitly named file (argument or environment) does not exist or cannot be
            looked at.
    """
    env = os.environ if env is None else env
    for given, origin in ((explicit, "--credentials"), (env.get(CREDENTIALS_ENV), CREDENTIALS_ENV)):
        if given:
            path = Path(given).expanduser()
            if not _exists(path, origin):
                raise ConfigError(f"{path}: no such credentials file (named by {origin})")
            return path
    for candidate in (PROJECT_ROOT / "credentials.json", USER_CREDENTIALS.expanduser()):
        if _exists(candidate, "the default lookup"):
            return candidate
    return None


def _exists(path: Path, origin: str) -> bool:
    try:
        os.stat(path)  # follows links: a dangling link is "no such file"
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False  # a path through a regular file ("credentials.json/x"): nothing there
    except OSError as error:
        why = error.strerror
        raise ConfigError(f"{path}: cannot look at the credentials file ({why}; named by {origin})") from None
    return True


def warn_if_readable_by_others(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        logger.warning("%s holds API keys and is readable by group or others; fix: chmod 600 %s", path, path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of a sane size; never blocks on a FIFO or a device."""
    try:
        kind = os.stat(path).st_mode
    except OSError as error:
        raise ConfigError(f"{path}: cannot read credentials file ({error.strerror})") from None
    if stat.S_ISDIR(kind):
        raise ConfigError(f"{path}: is a directory, not a credentials file; name the JSON file inside it")
    if not stat.S_ISREG(kind):
        raise ConfigError(f"{path}: is not a regular file (a {_file_kind(kind)}); name a JSON credentials file")
    # Opened without blocking and checked again on the open file: the path may have been swapped for
    # a FIFO since the stat above, and opening a FIFO for reading would wait for a writer forever.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read credentials file ({error.strerror})") from None
    with open(fd, "rb") as file:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError(f"{path}: is not a regular file; name a JSON credentials file")
            data = file.read(MAX_CREDENTIALS_BYTES + 1)
        except OSError as error:
            raise ConfigError(f"{path}: cannot read credentials file ({error.strerror})") from None
    if len(data) > MAX_CREDENTIALS_BYTES:
        raise ConfigError(f"{path}: is larger than {MAX_CREDENTIALS_BYTES:,} bytes; not a credentials file")
    return data


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "FIFO", stat.S_ISSOCK: "socket", stat.S_ISCHR: "character device"}
    return next((name for test, name in kinds.items() if test(mode)), "special file")


def read_credentials(path: Path) -> dict[str, Any]:
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig")  # a BOM, as Windows editors write it, is harmless
    except UnicodeDecodeError as error:
        bad = data[error.start]
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte 0x{bad:02x} at offset {error.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise ConfigError(f'{path}: is empty; it should hold a JSON object like {{"gemini": {{"api_key": "..."}}}}')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"{error.msg} at line {error.lineno} column {error.colno}"
        before = text[: error.pos].rstrip()
        if before.endswith(",") and text[error.pos : error.pos + 1] in "}]":
            where += "; remove the comma before it: JSON allows none after the last entry"
        raise ConfigError(f"{path}: not valid JSON ({where})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError:  # int(): a number longer than Python's limit on digits
        raise ConfigError(f"{path}: not valid JSON (a number with too many digits)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a JSON object with one block per AI, got {type(data).__name__}")
    return data
