"""Real `docker-registry` processes, a fault-injecting proxy, a fake Harbor and images made in Python."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry, write_htpasswd
from pipeyard.publish.archive import LayerCache
from pipeyard_kit.registry import RegistryClient
from tests.fixtures import free_port

from .fake_harbor import FakeHarbor
from .imagefactory import FakeDockerClient
from .registry_proxy import RegistryProxy

USER, PASSWORD = "ci", "s3cret-pw"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Backoff waits of milliseconds: the retry logic is exercised, the clock barely.
    monkeypatch.setenv("PIPEYARD_RETRIES", "4")
    monkeypatch.setenv("PIPEYARD_RETRY_BACKOFF", "0.01")
    monkeypatch.setenv("PIPEYARD_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("PIPEYARD_REGISTRY", "PIPEYARD_REGISTRY_USERNAME", "PIPEYARD_REGISTRY_PASSWORD",
                "HARBOR_URL", "HARBOR_USERNAME", "HARBOR_PASSWORD", "HARBOR_PASSWORD_FILE", "CI_COMMIT_TAG"):
        monkeypatch.delenv(var, raising=False)


def new_registry(root: Path, htpasswd: Path | None = None) -> LocalRegistry:
    return LocalRegistry(root, port=free_port(), htpasswd=htpasswd)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    with new_registry(tmp_path / "registry") as reg:
        yield reg


@pytest.fixture
def second_registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    with new_registry(tmp_path / "registry2") as reg:
        yield reg


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", USER, PASSWORD)
    with new_registry(tmp_path / "auth-registry", htpasswd) as reg:
        yield reg


@pytest.fixture
def proxy(registry: LocalRegistry) -> Iterator[RegistryProxy]:
    with RegistryProxy(registry.address) as p:
        yield p


@pytest.fixture
def harbor(registry: LocalRegistry) -> Iterator[FakeHarbor]:
    """A Harbor whose registry is a real docker-registry behind token auth, on the same host."""
    users = {"admin": "Harbor12345"}
    with FakeHarbor(registry=RegistryProxy(registry.address, users=users)) as h:
        yield h


@pytest.fixture
def store() -> FakeDockerClient:
    return FakeDockerClient()


@pytest.fixture
def cli_store(monkeypatch: pytest.MonkeyPatch, store: FakeDockerClient) -> FakeDockerClient:
    """The CLI's local image store is `store`, a fake one (no container engine needed)."""
    from pipeyard.cli import publish as publish_cmd

    @contextmanager
    def fake_client() -> Iterator[FakeDockerClient]:
        yield store

    monkeypatch.setattr(publish_cmd, "docker_client", fake_client)
    return store


@pytest.fixture
def cache(tmp_path: Path) -> LayerCache:
    return LayerCache(tmp_path / "layer-cache")


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`pipeyard ARGS` in this process, through the same error handling as the console script."""
    from pipeyard.cli.main import cli
    from pipeyard_kit.console import run_main

    # The CLI points the root logger at this test's captured stderr; left there, later tests'
    # log records (aiosmtpd's, say) would go to a closed stream.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.raises(SystemExit) as e:
            run_main(cli, "pipeyard", list(args))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    out, err = capsys.readouterr()
    return int(e.value.code or 0), out, err


def client_for(reg: LocalRegistry | RegistryProxy, **kwargs) -> RegistryClient:
    return RegistryClient(reg.address, scheme="http", **kwargs)
