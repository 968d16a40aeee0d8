"""Run a command in an image and get its exit code and output, on Docker or Podman alike.

`docker`'s containers.run raises on a non-zero exit and mixes the streams; tests and
the demo want both streams and the code. Podman gets the host network: the bridge
rewrites the host's iptables, which our machines forbid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import docker.errors

from pipeyard.images.containers.engine import Engine
from pipeyard_kit.errors import BuildError


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_container(eng: Engine, image: str, command: Sequence[str] | None = None, *, user: str | None = None,
                  environment: Mapping[str, str] | None = None, volumes: Mapping[str, dict] | None = None,
                  entrypoint: Sequence[str] | None = None, working_dir: str | None = None,
                  timeout: float = 300) -> RunResult:
    kwargs = {"network_mode": "host"} if eng.is_podman else {}
    try:
        container = eng.client.containers.create(
            image, command=list(command) if command is not None else None, user=user,
            environment=dict(environment or {}), volumes=dict(volumes or {}), entrypoint=entrypoint,
            working_dir=working_dir, **kwargs)
    except docker.errors.ImageNotFound:
        raise BuildError(f"no image {image} in the engine at {eng.url}", fix="build it with `pipeyard build`") from None
    except docker.errors.APIError as exc:
        raise BuildError(f"cannot create a container of {image}: {exc.explanation or exc}") from None
    try:
        container.start()
        code = container.wait(timeout=timeout).get("StatusCode", -1)
        stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    except docker.errors.APIError as exc:
        raise BuildError(f"running {image} failed: {exc.explanation or exc}") from None
    finally:
        try:
            container.remove(force=True)
        except docker.errors.APIError:
            pass
    return RunResult(int(code), stdout, stderr)
