"""Fixtures shared by every test area and every provider's tests (the root conftest.py loads this
module). Area-specific servers live in tests/<area>/conftest.py, shared stand-ins in tests/servers/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def no_docker_login(tmp_path_factory: pytest.TempPathFactory):
    """No test reads the credentials of whoever runs the suite: Docker's configuration (which the
    registry client consults, pipeyard_kit.registry.dockerconfig) points at an empty folder, for this
    process and the console scripts it starts. The file exists, empty: podman refuses a DOCKER_CONFIG
    without one."""
    folder = tmp_path_factory.mktemp("docker-config")
    (folder / "config.json").write_text("{}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCKER_CONFIG", str(folder))
        mp.delenv("DOCKER_AUTH_CONFIG", raising=False)
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a console script of this package as a user would, capturing its output."""
    exe = VENV_BIN / args[0]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TRACE", None)
    return subprocess.run([str(exe), *args[1:]], capture_output=True, text=True, env=full_env,
                          cwd=cwd or ROOT, input=input, timeout=600)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A scratch copy of the checkout (providers/, examples/, pipeline-templates/, the site file and the
    README), so tests can break provider files safely."""
    dest = tmp_path / "repo"
    dest.mkdir()
    for name in ("providers", "examples", "pipeline-templates"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True,
                        ignore=shutil.ignore_patterns("node_modules", "target", ".npm", "__pycache__"))
    for name in ("pyproject.toml", "pipeyard.site.yaml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    return dest
