"""From the local container store to an OCI image, through the Docker API's `save` (docker-archive).

Layers are gzipped deterministically (mtime 0, no file name, a fixed level) so the same layer always
gets the same digest, and the registry recognises it. The compressed layers are cached by their
diff_id (the digest of the uncompressed tar), and the image config by the image id, so re-publishing
an unchanged image neither exports nor recompresses anything.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any, Protocol

from pipeyard_kit.errors import BuildError
from pipeyard_kit.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Blob, OciImage, sha256_digest

GZIP_LEVEL = 6
CHUNK = 1 << 20


class SavableImage(Protocol):
    """What the docker SDK's Image offers (and what tests fake)."""

    id: str

    def save(self, chunk_size: int = ..., named: bool = ...) -> Any: ...


def default_cache_dir() -> Path:
    env = os.environ.get("PIPEYARD_CACHE_DIR")
    if env:
        return Path(env) / "oci"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pipeyard" / "oci"


class _HashingWriter:
    def __init__(self, out: IO[bytes]):
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class LayerCache:
    def __init__(self, root: Path | None = None):
        self.root = root or default_cache_dir()
        self.layers = self.root / "layers"
        self.configs = self.root / "configs"
        self.compressed = 0  # layers gzipped by this process: the benchmark's "no recompression" check

    def layer(self, diff_id: str) -> Blob | None:
        hex_ = _hex(diff_id)
        meta, data = self.layers / f"{hex_}.json", self.layers / f"{hex_}.tar.gz"
        if not (meta.exists() and data.exists()):
            return None
        info = json.loads(meta.read_text())
        if data.stat().st_size != info["size"]:
            return None
        return Blob(info["digest"], info["size"], OCI_LAYER_GZIP, path=data)

    def add_layer(self, diff_id: str, source: IO[bytes]) -> Blob:
        """Gzip an uncompressed layer tar into the cache, checking it really has this diff_id."""
        self.layers.mkdir(parents=True, exist_ok=True)
        hex_ = _hex(diff_id)
        plain = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.layers, prefix=f".{hex_[:12]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                writer = _HashingWriter(out)
                with gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=writer,  # type: ignore[arg-type]
                                   mtime=0) as gz:
                    while chunk := source.read(CHUNK):
                        plain.update(chunk)
                        gz.write(chunk)
            if "sha256:" + plain.hexdigest() != diff_id:
                raise BuildError(
                    f"a layer of the image does not match its diff_id: expected {diff_id}, "
                    f"got sha256:{plain.hexdigest()}",
                    fix="the exported image is damaged; rebuild it and publish again",
                )
            blob = Blob("sha256:" + writer.hash.hexdigest(), writer.size, OCI_LAYER_GZIP,
                        path=self.layers / f"{hex_}.tar.gz")
            os.replace(tmp, blob.path)  # type: ignore[arg-type]
            meta = json.dumps({"digest": blob.digest, "size": blob.size})
            _write_atomic(self.layers / f"{hex_}.json", meta)
            self.compressed += 1
            return blob
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def config(self, image_id: str) -> bytes | None:
        path = self.configs / f"{_hex(image_id)}.json"
        if not path.exists():
            return None
        data = path.read_bytes()
        return data if sha256_digest(data) == _full(image_id) else None

    def add_config(self, data: bytes) -> None:
        self.configs.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.configs / f"{_hex(sha256_digest(data))}.json", data)


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


def _hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


def _full(image_id: str) -> str:
    return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"


def _write_atomic(path: Path, data: str | bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)
