"""The image block of an environment's values file: what it deploys, and the edit that pins a new image.

gitops-bump owns four keys of image: in values-<env>.yaml: tag and digest (what is deployed),
pipeline (the CI_PIPELINE_IID that built it, to order images whose tags are not versions) and, only
when asked, repository. Everything else in the file is left byte for byte (see yamledit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeyard_gitops.order import Pin
from pipeyard_gitops.yamledit import Document, Editor
from pipeyard_kit.configrepo import helm_merge
from pipeyard_kit.errors import ConfigError
from pipeyard_kit.refs import ImageRef

IMAGE = ("image",)
TAG = ("image", "tag")
DIGEST = ("image", "digest")
PIPELINE = ("image", "pipeline")
REPOSITORY = ("image", "repository")


@dataclass(frozen=True)
class Deployed:
    """What Helm deploys for one environment: values.yaml with values-<env>.yaml over it."""

    repository: str
    repository_from: str  # the file that sets it, for messages
    pin: Pin


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _pipeline(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def deployed(base: Any, env: Any, *, base_file: str, env_file: str) -> Deployed:
    merged = helm_merge(base if isinstance(base, dict) else {}, env if isinstance(env, dict) else {})
    image = merged.get("image") if isinstance(merged.get("image"), dict) else {}
    env_image = env.get("image") if isinstance(env, dict) and isinstance(env.get("image"), dict) else {}
    source = env_file if env_image.get("repository") else base_file
    return Deployed(repository=_text(image.get("repository")), repository_from=source,
                    pin=Pin(_text(image.get("tag")), _text(image.get("digest")), _pipeline(image.get("pipeline"))))


def check_image_block(doc: Document) -> None:
    """The values file has the image.tag gitops-bump rewrites, reachable without anchors or aliases."""
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("image"), dict) or "tag" not in doc.data["image"]:
        if isinstance(doc.data, dict) and "image" in doc.data and not isinstance(doc.data["image"], dict):
            raise ConfigError(f"{doc.where} line {doc.line_of(IMAGE)}: image: is not a block of keys",
                              fix="write image: as a block with tag: and digest: lines, as `pipeyard chart init` does")
        raise ConfigError(f"{doc.where} has no image.tag key",
                          fix="write image: as a block with tag: and digest: lines, as `pipeyard chart init` does")
    doc.check_plain_path(TAG)


def pin_image(doc: Document, image: ImageRef, *, pipeline: int | None, repository: str | None = None) -> str:
    """The values file with image.tag, digest and pipeline (and repository, when given) pointing at `image`."""
    check_image_block(doc)
    edit = Editor(doc)
    if repository is not None:
        edit.set(REPOSITORY, repository, before=TAG)
    edit.set(TAG, image.tag)
    edit.set(DIGEST, image.digest, after=TAG)
    if pipeline is not None or doc.has(PIPELINE):
        edit.set(PIPELINE, pipeline, after=DIGEST if doc.has(DIGEST) else TAG)
    return edit.apply()
