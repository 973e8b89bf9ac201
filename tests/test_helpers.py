"""CI cannot pass by skipping: a test whose real dependency is missing skips, saying why, except under
CI=true, where it fails naming what is missing. Shown with nginx, the way a CI run meets it: pytest in a
child process, on a tiny test that needs nginx, with nginx hidden from PATH (or a stand-in put on it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.config.credentials import PROJECT_ROOT
from tests.nginx import NO_NGINX

NEEDS_NGINX = """\
from tests.helpers import require
from tests.nginx import NO_NGINX, binary


def test_needs_nginx():
    require("nginx", binary(), NO_NGINX)
"""


def without_nginx() -> list[str]:
    """This PATH's directories, those holding an nginx left out."""
    return [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "nginx").exists()]


def pytest_on(tmp_path: Path, path: list[str], ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest on the tiny test, with `path` as PATH and CI as given (None: unset)."""
    test = tmp_path / "test_tiny.py"
    test.write_text(NEEDS_NGINX)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env |= {"PATH": os.pathsep.join(path), "PYTHONPATH": str(PROJECT_ROOT)}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(test), "-q", "-rs", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def test_under_ci_a_missing_dependency_fails_naming_it(tmp_path: Path) -> None:
    done = pytest_on(tmp_path, without_nginx(), "true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert f"nginx is missing, and under CI=true a test does not skip for that: {NO_NGINX}" in done.stdout


def test_outside_ci_a_missing_dependency_skips_saying_why(tmp_path: Path) -> None:
    done = pytest_on(tmp_path, without_nginx(), None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout and NO_NGINX in done.stdout


def test_the_nginx_on_path_is_the_one_found(tmp_path: Path) -> None:
    stand_in = tmp_path / "bin" / "nginx"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    done = pytest_on(tmp_path, [str(stand_in.parent), *without_nginx()], "true")
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
