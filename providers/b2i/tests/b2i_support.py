"""The b2i provider's test helpers: real registries (Debian's docker-registry), a stand-in base image
pushed there, and a CI project folder as the maven build job leaves it (target/app.jar, target/dependency).

`b2i-build` runs as the job runs it (tests.servers.runner): on this machine, or inside the built image
when PIPEYARD_TEST_IMAGE_B2I names it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.b2i import standins
from tests.fixtures import free_port
from tests.servers.registry import LocalRegistry, write_htpasswd
from tests.servers.runner import make_runner

USER, PASSWORD = "robot$apps+ci", "Robot-Secret-" + "7d1f"
SHA = "0123456789abcdef0123456789abcdef01234567"
COMMIT_TIME = "2024-06-01T12:00:00+00:00"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("b2i-job")


@pytest.fixture(scope="module")
def runner(workdir: Path):
    return make_runner("b2i", workdir)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with LocalRegistry(tmp_path_factory.mktemp("registry"), port=free_port()) as reg:
        yield reg


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    root = tmp_path_factory.mktemp("auth-registry")
    with LocalRegistry(root, port=free_port(), htpasswd=write_htpasswd(root / "htpasswd", USER, PASSWORD)) as reg:
        yield reg


@pytest.fixture(scope="module")
def base(registry: LocalRegistry) -> str:
    """REGISTRY/pipeyard/b2i-java:21-trixie, a stand-in of the B2I base."""
    standins.tiny_base(registry.address, "pipeyard/b2i-java")
    return f"{registry.address}/pipeyard/b2i-java:21-trixie"


@pytest.fixture(scope="module")
def project(workdir: Path) -> Path:
    """The orders project after its maven build job: target/orders-1.0.jar and target/dependency/."""
    root = workdir / "orders"
    classes = standins.compile_all(workdir / "classes", "v1")
    jar = standins.thin_jar(classes, root / "target")
    jar.rename(root / "target" / "orders-1.0.jar")
    # What maven-source-plugin leaves beside it: not the app.
    standins._zip(root / "target" / "orders-1.0-sources.jar", {"com/example/demo/Hello.java": b"class Hello {}"})
    return root


def job_env(project: Path, registry: str, base: str, **extra: str) -> dict[str, str]:
    """What the .b2i-build job sees on the default branch of the orders project."""
    return {"CI_PROJECT_DIR": str(project), "CI_PROJECT_NAME": "orders", "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_SHORT_SHA": SHA[:8], "CI_COMMIT_TIMESTAMP": COMMIT_TIME, "CI_DEFAULT_BRANCH": "main",
            "CI_COMMIT_BRANCH": "main", "CI_PROJECT_URL": "https://gitlab.example.com/shop/orders",
            "B2I_APP_REGISTRY": f"{registry}/apps", "B2I_BASE_IMAGE": base, "PIPEYARD_RETRIES": "1", **extra}


def tags(reg: LocalRegistry, repo: str) -> list[str]:
    import requests

    return sorted(requests.get(f"{reg.url}/v2/{repo}/tags/list", timeout=5).json().get("tags") or [])


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout
