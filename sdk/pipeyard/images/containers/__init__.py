"""Containers: one code path to a Docker Engine API, real Docker or Podman's service.

`engine()` yields a connected `Engine` (its `.client` is a `docker.DockerClient`)
and stops any podman service it started. Podman's configuration lives under
$CT_ROOT (PIPEYARD_CONTAINERS_ROOT, default /var/lib/pipeyard/containers for root),
so nothing in /etc/containers changes. `run_container()` runs a command in an image
and returns its exit code, stdout and stderr.
"""

from pipeyard.images.containers.engine import Engine, engine
from pipeyard.images.containers.podman_config import PodmanConfig, podman_config
from pipeyard.images.containers.run import RunResult, run_container

__all__ = ["Engine", "PodmanConfig", "RunResult", "engine", "podman_config", "run_container"]
