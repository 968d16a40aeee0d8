"""One way to reach a container engine: the Docker Engine API, through `docker`.

In production that is a real Docker Engine; here and on daemonless runners it is
Podman's Docker-compatible service, which `engine()` starts and stops itself.
The choice, first match wins:

1. DOCKER_HOST, when set (it must answer: the user asked for it);
2. /var/run/docker.sock, when it answers;
3. a private `podman system service` on $CT_ROOT/run/podman-<pid>.sock.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from pipeyard.images.containers.podman_config import PodmanConfig, podman_config
from pipeyard.images.containers.podman_service import PodmanService, socket_answers
from pipeyard_kit.errors import RemoteError

DOCKER_SOCKET = Path("/var/run/docker.sock")
# Builds stream for minutes without a byte while apt or pip works quietly.
API_TIMEOUT = 1800


@dataclass
class Engine:
    client: docker.DockerClient
    url: str
    source: str
    config: PodmanConfig
    _service: PodmanService | None = field(default=None, repr=False)

    @property
    def own_podman(self) -> bool:
        """True when this process started the podman service, on the store under config.root."""
        return self._service is not None

    @property
    def is_podman(self) -> bool:
        """Podman answers the Docker API too; a few calls differ (import, build network)."""
        if self.own_podman:
            return True
        try:
            components = self.client.version().get("Components", [])
        except docker.errors.APIError:
            return False
        return any("podman" in str(c.get("Name", "")).lower() for c in components)

    def podman_env(self) -> dict[str, str]:
        """Variables that make the podman, buildah and skopeo CLIs use the same store."""
        return self.config.env()


def _client(url: str) -> docker.DockerClient:
    client = docker.DockerClient(base_url=url, version="auto", timeout=API_TIMEOUT)
    client.ping()
    return client


def _no_answer(url: str, exc: Exception) -> str:
    reason = str(getattr(exc, "explanation", None) or exc or type(exc).__name__)
    return f"{url} does not answer ({reason.splitlines()[0][:200]})"


@contextmanager
def engine(root: Path | str | None = None, *, env: Mapping[str, str] | None = None,
           podman: str = "podman") -> Iterator[Engine]:
    """Yield a connected Engine; a podman service started here is stopped on exit."""
    env = os.environ if env is None else env
    config = podman_config(root)
    docker_host = env.get("DOCKER_HOST", "")
    if docker_host:
        try:
            client = _client(docker_host)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise RemoteError(
                f"no container engine API: {_no_answer('DOCKER_HOST=' + docker_host, exc)}",
                fix="start that engine, or unset DOCKER_HOST so pipeyard starts podman itself",
            ) from None
        with closing(client):
            yield Engine(client, docker_host, "DOCKER_HOST", config)
        return
    if socket_answers(DOCKER_SOCKET):
        url = f"unix://{DOCKER_SOCKET}"
        try:
            client = _client(url)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise RemoteError(f"no container engine API: {_no_answer(url, exc)}",
                              fix="restart the Docker Engine, or set DOCKER_HOST to another engine") from None
        with closing(client):
            yield Engine(client, url, str(DOCKER_SOCKET), config)
        return
    if shutil.which(podman) is None:
        raise RemoteError(
            f"no container engine API: DOCKER_HOST is not set, unix://{DOCKER_SOCKET} does not answer, "
            f"and '{podman}' is not on PATH to start `podman system service`",
            fix="install podman (apt-get install podman runc), or start a Docker Engine and set DOCKER_HOST "
                "to its socket (e.g. DOCKER_HOST=unix:///var/run/docker.sock)",
        )
    with _shared_service(config, podman) as service:
        try:
            client = _client(service.url)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise RemoteError(f"no container engine API: podman service {_no_answer(service.url, exc)}",
                              fix=f"see {service.log_path}") from None
        with closing(client):
            yield Engine(client, service.url, "podman", config, service)


# One podman service per process and image store: its socket is named after the process, so a second
# service started beside the first (a command run in-process while a session's engine is open) would
# take over that socket and remove it on exit, under the first one's clients.
_SERVICES: dict[Path, list] = {}
_SERVICES_LOCK = threading.Lock()


@contextmanager
def _shared_service(config: PodmanConfig, podman: str) -> Iterator[PodmanService]:
    key = Path(config.root)
    with _SERVICES_LOCK:
        entry = _SERVICES.get(key)
        if entry is None:
            service = PodmanService(config, podman)
            service.start()
            entry = _SERVICES[key] = [service, 0]
        entry[1] += 1
    try:
        yield entry[0]
    finally:
        with _SERVICES_LOCK:
            entry[1] -= 1
            if entry[1] == 0:
                del _SERVICES[key]
                entry[0].stop()
