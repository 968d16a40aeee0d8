"""B2I: a developer hands over a jar and gets a running image with diagnostics and observability.

`spec` reads b2i/b2i.yaml; `agents` fetches and verifies the pinned agents; `base` builds the base
image per variant; `jar` inspects and splits a jar into layers; `app` builds and pushes app images;
`prune` applies the retention policy. The image's command is b2i/rootfs/usr/local/bin/b2i-launch
(sh, not Python: it runs on every app start).
"""

from pathlib import Path

# The image's command, inside the b2i/ folder: the same skeleton as a provider's rootfs/.
LAUNCHER = "rootfs/usr/local/bin/b2i-launch"


def launcher_path(folder: Path) -> Path:
    return folder / LAUNCHER
