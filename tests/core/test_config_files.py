"""A credentials path that is not what it should be gets one clear line naming the file and what is
wrong: in the loader, and from `server.py --credentials` as a process (exit 2, one line, no stdout)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.config.credentials import PROJECT_ROOT
from core.config.settings import load_settings
from core.errors import ConfigError

SERVER = str(PROJECT_ROOT / "server.py")
NOBODY = 65534
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def directory(where: Path) -> Path:
    path = where / "credentials.json"
    path.mkdir()
    return path


def fifo(where: Path) -> Path:
    path = where / "credentials.json"
    os.mkfifo(path)  # opening it to read would wait for a writer forever
    return path


def holding(data: bytes) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        path = where / "credentials.json"
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    return make


def unreadable(where: Path) -> Path:
    path = holding(b'{"grok": {"api_key": "xai-0123456789abcdef"}}')(where)
    path.chmod(0o000)
    return path


CASES = {
    "directory": (directory, r"is a directory, not a credentials file"),
    "fifo": (fifo, r"is not a regular file \(a FIFO\)"),
    "empty": (holding(b""), r"is empty; it should hold a JSON object"),
    "blank": (holding(b" \n\t\n"), r"is empty"),
    "invalid-utf8": (holding(b'{"grok": {"api_key": "\xff\xfe"}}'), r"is not UTF-8 text \(byte 0xff at offset 22\)"),
    "deep": (holding(b"[" * 100_000 + b"]" * 100_000), r"not valid JSON \(nested too deeply\)"),
    "long-number": (holding(b'{"deadline_s": ' + b"7" * 5_000 + b"}"), r"not valid JSON \(a number with too many"),
    "broken": (holding(b'{"grok": {'), r"not valid JSON \(Expecting property name .* at line 1 column 11\)"),
    "huge": (holding(b" " * 1_000_001), r"is larger than 1,000,000 bytes"),
    "unreadable": (unreadable, r"cannot read credentials file \(Permission denied\)"),
}


@pytest.fixture
def place() -> Iterator[Path]:
    """A directory anyone may enter (tmp_path's parents are private to root): for the `nobody` run."""
    where = Path(tempfile.mkdtemp(prefix="junior-ai-config-"))
    where.chmod(0o755)
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.mark.parametrize("case", [name for name in CASES if name != "fifo"])
def test_a_credentials_file_that_cannot_be_used_is_one_clear_error(case: str, place: Path) -> None:
    make, expected = CASES[case]
    if case == "unreadable" and IS_ROOT:
        pytest.skip("root reads a chmod 000 file; the process test runs this case as nobody")
    path = make(place)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert "no such" not in message


@pytest.mark.parametrize("case", list(CASES))
def test_the_server_names_the_file_and_what_is_wrong_in_one_line_and_still_starts(case: str, place: Path) -> None:
    make, expected = CASES[case]
    path = make(place)
    # As root, a chmod 000 file is still readable: that case runs as nobody, who is refused.
    user = NOBODY if case == "unreadable" and IS_ROOT else None
    done = subprocess.run(
        [sys.executable, SERVER, "--credentials", str(path)],
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO opened for reading would block here, failing the test rather than hanging it
        stdin=subprocess.DEVNULL,
        cwd=place,
        user=user,
        env={"HOME": str(place), "PATH": "/usr/bin:/bin"},
    )
    # Under an MCP client (stdin is no terminal) the server starts all the same, and every tool answer
    # says what is wrong (tests/test_degraded.py); here stdin is empty, so it ends at once, cleanly.
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith(f"- {path}: ")]
    assert len(lines) == 1, done.stderr
    assert re.search(expected, lines[0]), lines[0]
    assert "Traceback" not in done.stderr


def test_a_directory_named_by_the_environment_is_not_called_missing(place: Path) -> None:
    path = directory(place)
    with pytest.raises(ConfigError, match=rf"^{path}: is a directory"):
        load_settings(env={"JUNIOR_AI_CREDENTIALS": str(path)})


def test_a_file_saved_with_a_byte_order_mark_is_read(place: Path) -> None:
    path = holding(b'\xef\xbb\xbf{"grok": {"api_key": "xai-0123456789abcdef"}}')(place)
    assert load_settings(path, env={}).usable_ais == ["grok"]
