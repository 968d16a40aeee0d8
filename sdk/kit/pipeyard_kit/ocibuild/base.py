"""The base image, read from its registry by digest: its manifest, its config and its layers' descriptors.

Nothing is pulled but the config (a few kilobytes): the base's layers stay in the registry and are
mounted into the app's repository, or copied once from another registry (pipeyard_kit.ocibuild.push).
An image index (a multi-platform base) is narrowed to the platform asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry.client import RegistryClient
from pipeyard_kit.registry.oci import (
    DOCKER_MANIFEST,
    INDEX_TYPES,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Blob,
    sha256_digest,
)
from pipeyard_kit.registry.reference import Reference

DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# A Docker layer is the same gzipped tar as an OCI one: the new manifest is OCI, so its type is renamed.
LAYER_TYPES = {DOCKER_LAYER_GZIP: OCI_LAYER_GZIP}
DEFAULT_PLATFORM = "linux/amd64"


@dataclass(frozen=True)
class BaseImage:
    reference: Reference  # as given (a tag or a digest)
    digest: str  # of the single-platform manifest the app is built on
    config: dict[str, Any]
    layers: tuple[Blob, ...]  # descriptors only: the bytes stay in the registry

    @property
    def repository(self) -> str:
        return self.reference.repository

    @property
    def host(self) -> str:
        return self.reference.api_host

    @property
    def pinned(self) -> str:
        """The base as an immutable reference: repository@digest."""
        return f"{self.reference.host}/{self.reference.repository}@{self.digest}"

    def label(self, name: str) -> str | None:
        return ((self.config.get("config") or {}).get("Labels") or {}).get(name)


def _platform(entry: dict[str, Any]) -> str:
    p = entry.get("platform") or {}
    return "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)


def resolve(client: RegistryClient, reference: Reference, platform: str = DEFAULT_PLATFORM, *,
            missing_fix: str = "check the base image's name and tag") -> BaseImage:
    """Read the base's manifest (by the tag or digest given, then by digest) and its config."""
    repo = reference.repository
    if client.manifest_digest(repo, reference.reference) is None:
        raise RemoteError(f"the base image {reference} is not in its registry", fix=missing_fix)
    data, media_type = client.get_manifest(repo, reference.reference)
    digest = sha256_digest(data)
    doc = json.loads(data)
    if media_type in INDEX_TYPES or doc.get("manifests"):
        # linux/arm64 takes linux/arm64/v8 too: the variant is optional in an index.
        wanted = [m for m in doc.get("manifests") or [] if _platform(m) == platform
                  or _platform(m).startswith(platform + "/")]
        if not wanted:
            offered = ", ".join(sorted({_platform(m) for m in doc.get("manifests") or []})) or "none"
            raise RemoteError(f"the base image {reference} has no {platform} image (it has: {offered})",
                              fix="build the base for this platform (pipeyard b2i base) or name another base")
        digest = wanted[0]["digest"]
        data, media_type = client.get_manifest(repo, digest)
        doc = json.loads(data)
    if media_type not in (OCI_MANIFEST, DOCKER_MANIFEST) and doc.get("schemaVersion") != 2:
        raise RemoteError(f"the base image {reference} has a manifest of type {media_type or 'unknown'}",
                          fix="push the base as an OCI or Docker v2 image (pipeyard b2i base --push does)")
    config_digest = (doc.get("config") or {}).get("digest", "")
    try:
        config = json.loads(client.get_blob(repo, config_digest))
    except ValueError:
        raise RemoteError(f"the config of the base image {reference} is not JSON",
                          fix="the base image is damaged; push it again") from None
    layers = tuple(Blob(layer["digest"], int(layer["size"]), LAYER_TYPES.get(layer.get("mediaType", ""),
                                                                           layer.get("mediaType") or OCI_LAYER_GZIP))
                   for layer in doc.get("layers") or [])
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(layers):
        raise RemoteError(f"the base image {reference} lists {len(layers)} layers but its config {len(diff_ids)}",
                          fix="the base image is damaged; push it again")
    return BaseImage(reference, digest, config, layers)
