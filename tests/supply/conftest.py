"""Supply-chain fixtures: keys, real docker-registry processes, images made in Python, an agent mirror."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from pipeyard.b2i.spec import Agent
from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.supply.keys import load_signing_key
from tests.publish.conftest import cache, cli_store, new_registry, registry  # noqa: F401 (fixtures)
from tests.publish.imagefactory import FakeDockerClient, noise
from tests.servers import loopback


@pytest.fixture(autouse=True)
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPEYARD_RETRIES", "3")
    monkeypatch.setenv("PIPEYARD_RETRY_BACKOFF", "0.01")
    monkeypatch.setenv("PIPEYARD_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("PIPEYARD_REGISTRY", "PIPEYARD_REGISTRY_USERNAME", "PIPEYARD_REGISTRY_PASSWORD", "HARBOR_URL",
                "HARBOR_USERNAME", "HARBOR_PASSWORD", "PIPEYARD_SIGNING_KEY", "PIPEYARD_SIGNING_KEY_FILE",
                "COSIGN_PASSWORD", "B2I_MIRROR_URL", "PIPEYARD_SITE"):
        monkeypatch.delenv(var, raising=False)


def make_key(folder: Path, name: str = "signing") -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / f"{name}.pem", folder / f"{name}.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    str(private)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True,
                   capture_output=True)
    return private, public


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_key(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def other_keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_key(tmp_path_factory.mktemp("other-keys"), "other")


@pytest.fixture
def key(keypair: tuple[Path, Path]):
    return load_signing_key(keypair[0])


@pytest.fixture
def site_registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """The offline site's registry: a second, empty docker-registry on another port."""
    with new_registry(tmp_path / "site-registry") as reg:
        yield reg



DPKG_STATUS = b"""Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.41-12
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>

Package: removed-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

"""
OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n'


def provider_layers(name: str) -> list[dict[str, bytes]]:
    """A base every image shares, then the provider's own layer (a Python distribution)."""
    base = {"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": DPKG_STATUS,
            "usr/lib/os.bin": noise("os", 150_000)}
    own = {f"opt/pipeyard/lib/python3.13/site-packages/pipeyard_{name}-1.0.0.dist-info/METADATA":
           f"Metadata-Version: 2.4\nName: pipeyard-{name}\nVersion: 1.0.0\nLicense-Expression: Apache-2.0\n".encode(),
           f"usr/lib/{name}.bin": noise(name, 50_000)}
    return [base, own]


@pytest.fixture
def store() -> FakeDockerClient:
    """maven and npm as `pipeyard build` leaves them: the default variant, under its own name and the plain one."""
    from pipeyard.model.provider import load_provider
    from tests.fixtures import ROOT

    s = FakeDockerClient()
    for name in ("maven", "npm"):
        image = s.add(f"localhost/pipeyard/{name}:1.0.0", provider_layers(name))
        s.images.by_ref[f"localhost/pipeyard/{name}:1.0.0-{load_provider(ROOT, name).default_variant.name}"] = image
    return s


@pytest.fixture
def agent_mirror(tmp_path: Path) -> Iterator[tuple[str, list[Agent]]]:
    """Two agent files on a loopback HTTP mirror, pinned as b2i.yaml pins them."""
    root = tmp_path / "mirror"
    agents = []
    for name, rel, data in (("jmx_exporter", "prometheus/jmx_exporter/1.6.0/jmx_prometheus_javaagent-1.6.0.jar",
                             noise("jmx", 3000)),
                            ("arthas", "arthas/4.0.5/arthas-bin.zip", noise("arthas", 5000))):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        agents.append(Agent(name=name, version=rel.split("/")[-2], path=rel,
                            sha256=hashlib.sha256(data).hexdigest(), unpack="none", install=f"agents/{name}"))

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = loopback.serve(partial(Handler, directory=str(root)))
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}", agents
    finally:
        loopback.stop(server)
