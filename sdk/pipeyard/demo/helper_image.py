"""gitlab-ci-local's container executor on Podman: jobs run inside the real images.

gitlab-ci-local needs a helper image (which can't be pulled here, so it is built
from the local Debian base), and a podman whose `rm` really removes (the
podman-gcl wrapper). Jobs run as the image's USER (--no-umask), as GitLab's
docker executor does.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

from rich.console import Console

from pipeyard.images.build import build_failure, run_build
from pipeyard.images.containers import Engine
from pipeyard.images.progress import BuildBoard

HELPER_IMAGE = "localhost/pipeyard/gcl-helper:1"


def wrapper_path() -> Path:
    return Path(str(resources.files("pipeyard.demo").joinpath("localci_data/podman-gcl")))


def ensure_helper_image(eng: Engine, console: Console) -> str:
    """Build the helper image once; later calls find it in the store."""
    try:
        eng.client.images.get(HELPER_IMAGE)
        return HELPER_IMAGE
    except Exception:  # docker.errors.ImageNotFound, whatever the engine calls it
        pass
    with tempfile.TemporaryDirectory(prefix="pipeyard-gcl-helper-") as tmp:
        ctx = Path(tmp)
        shutil.copy(resources.files("pipeyard.demo").joinpath("localci_data/helper.Dockerfile"), ctx / "Dockerfile")
        with BuildBoard(console) as board:
            progress = board.image("gitlab-ci-local helper")
            state = run_build(eng, ctx, HELPER_IMAGE, {}, progress)
            if state.error is not None:
                raise build_failure("the gitlab-ci-local helper Dockerfile", HELPER_IMAGE, state, progress, console)
            progress.finish(HELPER_IMAGE)
    return HELPER_IMAGE


def container_args(helper_image: str = HELPER_IMAGE) -> list[str]:
    return ["--container-executable", str(wrapper_path()), "--helper-image", helper_image,
            "--no-umask", "--pull-policy", "if-not-present"]
