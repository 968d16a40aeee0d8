"""Working containers a failed podman build leaves behind, and removing only our own.

Buildah keeps the working container of a failed step even when asked to remove it
(forcerm), each holding the half-written layer. They are invisible to the Docker
API, so this uses the buildah CLI on our own store. A concurrent build in the same
store has working containers too: only those created during our build *and* named
after an image our build used (`<image>-working-container[-N]`) are removed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable

from pipeyard.images.containers.engine import Engine

NAME = re.compile(r"^(?P<image>.+?)-working-container(?:-\d+)?$")


def _buildah(eng: Engine, *args: str) -> subprocess.CompletedProcess[str] | None:
    # Only a store whose configuration we wrote: a podman behind DOCKER_HOST may keep it elsewhere.
    if not eng.own_podman or shutil.which("buildah") is None:
        return None
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", **eng.podman_env()}
    return subprocess.run(["buildah", *args], capture_output=True, text=True, env=env, timeout=120)


def working_containers(eng: Engine) -> dict[str, str]:
    """id -> name of every buildah working container in the store (empty when not ours)."""
    out = _buildah(eng, "containers", "--json")
    if out is None or out.returncode != 0 or not out.stdout.strip():
        return {}
    return {c["id"]: c.get("containername", "") for c in json.loads(out.stdout) or []}


def remove_leftovers(eng: Engine, before: dict[str, str], owns: Callable[[str], bool]) -> list[str]:
    """Remove working containers new since `before` whose image part of the name `owns` accepts."""
    removed = []
    for cid, name in working_containers(eng).items():
        m = NAME.match(name)
        if cid in before or not m or not owns(m.group("image")):
            continue
        out = _buildah(eng, "rm", cid)
        if out is not None and out.returncode == 0:
            removed.append(name)
    return removed
