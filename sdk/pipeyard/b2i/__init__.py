"""B2I: a developer hands over a jar and gets a running image with diagnostics and observability.

`spec` reads b2i/b2i.yaml; `agents` fetches and verifies the pinned agents; `base` builds the base
image per variant; `app` builds app images through a container engine (`--engine`); `prune` applies
the retention policy. The default app build needs no engine: it lives in the kit (pipeyard_kit.b2i),
because the B2I provider image runs the same code in a pipeline job. The image's command is b2i/rootfs/usr/local/bin/b2i-launch
(sh, not Python: it runs on every app start).
"""

from pathlib import Path

# The image's command, inside the b2i/ folder: the same skeleton as a provider's rootfs/.
LAUNCHER = "rootfs/usr/local/bin/b2i-launch"


def launcher_path(folder: Path) -> Path:
    return folder / LAUNCHER
