"""From the local container store to an OCI image, through the Docker API's `save` (docker-archive).

Layers are gzipped deterministically (mtime 0, no file name, a fixed level) so the same layer always
gets the same digest, and the registry recognises it. The compressed layers are cached by their
diff_id (the digest of the uncompressed tar), and the image config by the image id, so re-publishing
an unchanged image neither exports nor recompresses anything (pipeyard_kit.ocibuild.cache).
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from typing import Any, Protocol

from pipeyard_kit.errors import BuildError
from pipeyard_kit.ocibuild.cache import CHUNK, LayerCache, default_cache_dir
from pipeyard_kit.registry.oci import OCI_CONFIG, Blob, OciImage, sha256_digest

# Where the cache lives moved to the kit with LayerCache (images cache layers too); the names stay here.
__all__ = ["LayerCache", "SavableImage", "default_cache_dir", "oci_image"]


class SavableImage(Protocol):
    """What the docker SDK's Image offers (and what tests fake)."""

    id: str

    def save(self, chunk_size: int = ..., named: bool = ...) -> Any: ...


def oci_image(image: SavableImage, cache: LayerCache) -> OciImage:
    """The OCI form of a local image; exports it only when the cache lacks a piece."""
    config = cache.config(image.id)
    if config is not None:
        layers = [cache.layer(d) for d in _diff_ids(config)]
        if all(layers):
            return OciImage.assemble(_config_blob(config), layers)  # type: ignore[arg-type]
    return _from_archive(image, cache)


def _from_archive(image: SavableImage, cache: LayerCache) -> OciImage:
    cache.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=cache.root, prefix=".export.") as tmp:
        for chunk in image.save(chunk_size=CHUNK, named=False):
            tmp.write(chunk)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp, mode="r:") as tar:
            entry = _manifest_entry(tar)
            config = _read(tar, entry["Config"])
            diff_ids = _diff_ids(config)
            layer_paths = entry["Layers"]
            if len(layer_paths) != len(diff_ids):
                raise BuildError(f"the exported image has {len(layer_paths)} layers but its config lists "
                                 f"{len(diff_ids)}", fix="rebuild the image and publish again")
            layers = []
            for path, diff_id in zip(layer_paths, diff_ids, strict=True):
                blob = cache.layer(diff_id)
                if blob is None:
                    member = tar.extractfile(path)
                    if member is None:
                        raise BuildError(f"the exported image lacks its layer {path}",
                                         fix="rebuild the image and publish again")
                    blob = cache.add_layer(diff_id, member)
                layers.append(blob)
    cache.add_config(config)
    return OciImage.assemble(_config_blob(config), layers)


def _manifest_entry(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        entries = json.loads(_read(tar, "manifest.json"))
    except (KeyError, ValueError):
        raise BuildError("the exported image has no readable manifest.json (not a docker-archive)",
                         fix="check that the container engine's API is Docker-compatible") from None
    if len(entries) != 1:
        raise BuildError(f"the exported archive holds {len(entries)} images, expected 1",
                         fix="export a single image")
    return entries[0]


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    f = tar.extractfile(name)
    if f is None:
        raise KeyError(name)
    return f.read()


def _diff_ids(config: bytes) -> list[str]:
    return list(json.loads(config).get("rootfs", {}).get("diff_ids", []))


def _config_blob(config: bytes) -> Blob:
    return Blob(sha256_digest(config), len(config), OCI_CONFIG, data=config)
