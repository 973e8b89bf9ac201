"""What an install puts on the import path: the packages, named as the README says, and no top-level module
called `server`, `check` or `run` (names too common to claim in site-packages); the console script
`junior-ai` runs from the installed packages alone.

The project is installed (`pip install --no-deps --target`: the dependencies come from this venv) into a
directory of its own, and run from a directory outside the checkout, so that nothing of the checkout is
on the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from core.config.credentials import PROJECT_ROOT
from tests.fakes import FakeProvider
from tests.helpers import credentials_for, write_credentials

PACKAGES = {"ai", "callers", "collab", "core", "serve", "tools"}
NOT_SOURCE = (".*", "build", "site", "node_modules", "__pycache__", "*.egg-info")
PIP_INSTALL = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--disable-pip-version-check"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("source") / "checkout"
    # From a copy: setuptools builds in the source's build/, and would leave it behind in the checkout.
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    done = subprocess.run(
        [*PIP_INSTALL, "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def run_installed(installed: Path, cwd: Path, *command: str) -> subprocess.CompletedProcess[str]:
    # The installed packages first, then this venv's dependencies; never the checkout.
    path = os.pathsep.join([str(installed), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONNOUSERSITE": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_install_holds_the_packages_and_no_top_level_server_check_or_run_module(installed: Path) -> None:
    top_level = {path.name.removesuffix(".py") for path in installed.iterdir() if path.suffix == ".py"}
    assert top_level.isdisjoint({"server", "check", "run"}), top_level
    packages = {path.name for path in installed.iterdir() if (path / "__init__.py").is_file()}
    assert packages == PACKAGES


@pytest.mark.parametrize("name", ["server", "check"])
def test_importing_a_top_level_server_or_check_fails_after_an_install(
    installed: Path, tmp_path: Path, name: str
) -> None:
    done = run_installed(installed, tmp_path, sys.executable, "-S", "-c", f"import {name}")
    assert done.returncode != 0
    assert f"No module named '{name}'" in done.stderr


def test_the_installed_console_script_checks_the_configured_ais(
    installed: Path, tmp_path: Path, fake: FakeProvider
) -> None:
    path = write_credentials(tmp_path / "credentials.json", credentials_for(fake, ("grok", "gemini")))
    script = installed / "bin" / "junior-ai"
    done = run_installed(installed, tmp_path, sys.executable, str(script), "--check", "--credentials", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grok" in done.stdout and "gemini" in done.stdout
    assert str(PROJECT_ROOT) not in done.stderr  # nothing came from the checkout
