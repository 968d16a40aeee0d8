"""Fixtures shared by every test area and every provider's tests (the root conftest.py loads this
module). Area-specific servers live in tests/<area>/conftest.py, shared stand-ins in tests/servers/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# `make test` builds and tests each provider's default variant; `make test-variants` sets this to `all`.
VARIANTS_ENV = "PIPEYARD_TEST_VARIANTS"


def all_variants() -> bool:
    return os.environ.get(VARIANTS_ENV) == "all"


def variants_under_test(provider: str) -> list[str]:
    """The variant names a test runs for: the default one, or every one with PIPEYARD_TEST_VARIANTS=all
    ([""] for a provider without variants)."""
    from pipeyard.model.provider import load_provider

    p = load_provider(ROOT, provider)
    return [v.name for v in p.variants] if all_variants() else [p.default_variant.name]


@pytest.fixture(scope="session")
def eng() -> Iterator:
    """The container engine (Docker, or a podman service started for the session)."""
    from pipeyard.images.containers import engine
    from pipeyard_kit.errors import RemoteError

    try:
        with engine() as e:
            yield e
    except RemoteError as exc:
        if "no container engine API" in str(exc):
            pytest.skip(f"no container runtime can be started here: {exc}")
        raise


@pytest.fixture(scope="session")
def console():
    from rich.console import Console

    return Console(stderr=True, force_terminal=False, soft_wrap=True)


@pytest.fixture(scope="session")
def provider_image(eng, console) -> Callable[[str, str], str]:
    """provider_image("maven", "jdk8") -> the ref of that image, built once per session as `pipeyard build
    maven --variant jdk8` builds it (the checkout's site file; cached layers shared with `make test`)."""
    from pipeyard.images.base import bootstrap
    from pipeyard.images.build import BuildRequest, build_images
    from pipeyard.model.provider import load_provider, load_providers
    from pipeyard.model.site import find_site, load_site

    built: dict[tuple[str, str], str] = {}

    def get(name: str, variant: str = "") -> str:
        if (name, variant) not in built:
            provider = load_provider(ROOT, name)
            chosen = provider.variant(variant)
            bootstrap(eng, provider.base.split(":", 1)[1], console=console)
            site = load_site(find_site(ROOT), load_providers(ROOT))
            request = BuildRequest(root=ROOT, providers=[provider], site=site,
                                   variants=(chosen.name,) if chosen.name else ())
            [result] = build_images(eng, request, console=console)
            built[(name, variant)] = result.ref
        return built[(name, variant)]

    return get


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
