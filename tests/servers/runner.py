"""Run a provider's commands as its image runs them: on this machine, or inside the image with podman.

A test says `runner.run(["mvn", "package"], env={...}, cwd=project)` and never
knows where it ran. `make_runner()` picks:

- HostRunner (default): PATH starts with providers/<name>/rootfs/usr/local/bin,
  then this checkout's venv (maven-configure, npm-configure), then /usr/bin.
- PodmanRunner, when PIPEYARD_TEST_IMAGE_<PROVIDER> names a built image, e.g.
  `PIPEYARD_TEST_IMAGE_MAVEN=localhost/pipeyard/maven:test pytest tests/maven`.

Everything a test hands to a command lives under one work folder, which the
podman runner mounts at the same path (owned by the image's user), so paths are
the same in both worlds. Servers run on the host; `--network host` reaches them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeyard.images.containers import podman_config

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
IMAGE_ENV = "PIPEYARD_TEST_IMAGE_{provider}"


class HostRunner:
    where = "host"

    def __init__(self, provider: str, workdir: Path):
        self.provider = provider
        self.workdir = Path(workdir)
        self.wrappers = ROOT / "providers" / provider / "rootfs" / "usr" / "local" / "bin"
        self.home = self.workdir / "home"

    def base_env(self) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": f"{self.wrappers}:{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            # The host's own site file (if any) must not leak into tests; a test passes its own.
            "PIPEYARD_SITE_FILE": str(self.workdir / "no-site.json"),
        }

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
        full = {**self.base_env(), **(env or {})}
        return subprocess.run(list(argv), env=full, cwd=cwd or self.workdir, capture_output=True, text=True,
                              timeout=timeout, check=False)


class PodmanRunner:
    where = "image"

    def __init__(self, image: str, workdir: Path, podman: str = "podman"):
        self.image = image
        self.workdir = Path(workdir)
        self.podman = podman

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
        cmd = [self.podman, "run", "--rm", "--network", "host",
               "-v", f"{self.workdir}:{self.workdir}:U", "-w", str(cwd or self.workdir)]
        # One job's commands share one container and its HOME; separate `podman run`s
        # don't, so HOME lives in the mounted work folder to keep what a call caches.
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        # As on the host: the image's baked site file must not leak into tests; a test passes its own.
        env = {"HOME": str(home), "PIPEYARD_SITE_FILE": str(self.workdir / "no-site.json"), **(env or {})}
        for key, value in env.items():
            cmd += ["-e", f"{key}={value}"]
        cmd += [self.image, *argv]
        # The podman CLI must use the store `pipeyard build` wrote to, not /etc/containers'.
        config = podman_config()
        config.write()
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              env={**os.environ, **config.env()})


def make_runner(provider: str, workdir: Path) -> HostRunner | PodmanRunner:
    image = os.environ.get(IMAGE_ENV.format(provider=provider.upper()))
    return PodmanRunner(image, workdir) if image else HostRunner(provider, workdir)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout or "") + (done.stderr or "")
