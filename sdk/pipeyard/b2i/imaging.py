"""One image build through the engine API, with the shared rich progress.

B2I builds a staged context (the base) or a generated one (an app), so it calls the API directly
rather than `pipeyard.images`'s provider loop; the progress board and the engine are shared.
"""

from __future__ import annotations

import re
from pathlib import Path

import docker.errors

from pipeyard.images.containers import Engine
from pipeyard.images.progress import BuildBoard
from pipeyard.images.source_info import source_info
from pipeyard_kit import __version__
from pipeyard_kit.errors import BuildError

_STEP = re.compile(r"^(?:STEP|Step) (\d+)/(\d+)\s*:\s*(.*)$")
SOURCE = "https://gitlab.example.com/platform/pipeyard"


def oci_labels(root: Path, title: str) -> dict[str, str]:
    """The shared OCI labels (from the commit, never the clock) plus the image's title."""
    try:
        labels = source_info(root, fallback_source=SOURCE).labels()
    except BuildError:
        # An app's jar can be built outside a pipeyard checkout; its labels then say less.
        labels = {"org.opencontainers.image.version": __version__}
    return {**labels, "org.opencontainers.image.title": title}


def image_id(eng: Engine, ref: str) -> str | None:
    try:
        return eng.client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as exc:
        raise BuildError(f"the container engine at {eng.url} failed to look up {ref}: {exc.explanation or exc}") from None


def build(eng: Engine, context: Path, ref: str, *, board: BuildBoard, name: str, buildargs: dict[str, str] | None = None,
          target: str | None = None, labels: dict[str, str] | None = None, extra_tags: tuple[str, ...] = ()) -> str:
    """Build context into ref (plus extra_tags); returns the image id. Errors name the failing step."""
    progress = board.image(name)
    last_step = ""
    error = None
    try:
        stream = eng.client.api.build(path=str(context), tag=ref, buildargs=buildargs or {}, target=target,
                                      labels=labels or {}, rm=True, forcerm=True, pull=False, decode=True,
                                      network_mode="host")
        for chunk in stream:
            if "error" in chunk or "errorDetail" in chunk:
                error = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error")
                continue
            for line in str(chunk.get("stream", "")).splitlines():
                line = line.rstrip()
                if not line:
                    continue
                m = _STEP.match(line)
                if m:
                    last_step = m.group(3)
                    progress.step(int(m.group(1)), int(m.group(2)), m.group(3))
                elif line.strip().startswith(("--> Using cache", "---> Using cache")):
                    progress.cached()
                else:
                    progress.output(line)
    except docker.errors.APIError as exc:
        error = str(exc.explanation or exc)
    except docker.errors.BuildError as exc:
        error = str(exc.msg)
    if error:
        tail = " / ".join(list(progress.tail)[-3:])
        raise BuildError(f"building {ref} failed at `{last_step[:120]}`: {error.strip()[:300]}",
                         fix=f"the last output was: {tail[:400]}" if tail else "rerun with --verbose")
    found = image_id(eng, ref)
    if found is None:
        raise BuildError(f"building {ref} finished but the engine has no such image", fix="rerun with --verbose")
    image = eng.client.images.get(found)
    for extra in extra_tags:
        repo, tag = extra.rsplit(":", 1)
        image.tag(repo, tag)
    progress.finish(f"{ref} ({found.split(':')[-1][:12]})")
    return found
