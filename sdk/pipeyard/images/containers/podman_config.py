"""Podman's configuration, kept under one directory of our own ($CT_ROOT).

Nothing in /etc/containers is edited: the files live in $CT_ROOT/conf and podman
finds them through CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and
CONTAINERS_REGISTRIES_CONF. Two settings are required on our machines (runc,
because crun refuses the host's hybrid cgroups; capped ulimits, because root
podman asks for a nofile limit the sandbox cannot raise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "PIPEYARD_CONTAINERS_ROOT"
LOCAL_REGISTRY = "127.0.0.1:5000"


def default_root() -> Path:
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV])
    if os.geteuid() == 0:
        return Path("/var/lib/pipeyard/containers")
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "pipeyard" / "containers"


CONTAINERS_CONF = """\
# Written by pipeyard; edit $CT_ROOT/conf through pipeyard.images.containers.podman_config.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
# No bridge network: it rewrites the host's iptables.
netns = "host"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{root}/run/libpod"
# Stopped containers of failed builds go fast.
stop_timeout = 2
"""

STORAGE_CONF = """\
[storage]
driver = "overlay"
runroot = "{root}/run/storage"
graphroot = "{root}/storage"
"""

REGISTRIES_CONF = """\
unqualified-search-registries = []
short-name-mode = "permissive"

[[registry]]
location = "{registry}"
insecure = true
"""


@dataclass(frozen=True)
class PodmanConfig:
    root: Path

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def socket(self) -> Path:
        return self.root / "podman.sock"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def files(self) -> dict[Path, str]:
        root = str(self.root)
        return {
            self.conf_dir / "containers.conf": CONTAINERS_CONF.format(root=root),
            self.conf_dir / "storage.conf": STORAGE_CONF.format(root=root),
            self.conf_dir / "registries.conf": REGISTRIES_CONF.format(registry=LOCAL_REGISTRY),
        }

    def write(self) -> None:
        """Create the tree and (re)write the config files when their text changed."""
        for d in (self.conf_dir, self.tmp_dir, self.root / "run", self.root / "storage"):
            d.mkdir(parents=True, exist_ok=True)
        for path, text in self.files().items():
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")

    def env(self) -> dict[str, str]:
        """The variables that point podman, buildah and skopeo at our files."""
        return {
            "CONTAINERS_CONF": str(self.conf_dir / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.conf_dir / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(self.conf_dir / "registries.conf"),
            "TMPDIR": str(self.tmp_dir),
        }


def podman_config(root: Path | str | None = None) -> PodmanConfig:
    return PodmanConfig(Path(root) if root else default_root())
