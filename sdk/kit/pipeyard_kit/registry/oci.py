"""OCI image pieces: blobs, the manifest and its exact bytes.

A manifest's digest is the sha256 of its bytes, so they are built once, deterministically
(fixed key order, no whitespace, no timestamps), and pushed byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")

    @property
    def opener(self) -> Callable[[], BinaryIO]:
        return self.open

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class OciImage:
    config: Blob
    layers: tuple[Blob, ...]
    manifest: bytes = field(repr=False)
    media_type: str = OCI_MANIFEST

    @classmethod
    def assemble(cls, config: Blob, layers: list[Blob] | tuple[Blob, ...]) -> OciImage:
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": [layer.descriptor() for layer in layers],
        }
        return cls(config, tuple(layers), json.dumps(doc, separators=(",", ":")).encode())

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def blobs(self) -> tuple[Blob, ...]:
        # Layers first: the config is what makes an image, so it goes up last of the blobs.
        return (*self.layers, self.config)

    @property
    def size(self) -> int:
        return sum(b.size for b in self.blobs) + len(self.manifest)
