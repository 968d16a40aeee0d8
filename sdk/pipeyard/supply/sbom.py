"""The SBOM of a local image: generated from its export, kept by image id, found again at publish.

`pipeyard build` streams each new image's docker-archive export once through the inventory
(no compression, no temporary copy, no scanner) and stores the CycloneDX document under the
image id, which is the same wherever the image is pushed. `pipeyard publish` and
`pipeyard bundle create` take it from there, and generate it if the image was built elsewhere.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeyard.supply import cyclonedx, inventory
from pipeyard_kit.errors import BuildError

CHUNK = 1 << 20


def default_dir() -> Path:
    env = os.environ.get("PIPEYARD_CACHE_DIR")
    if env:
        return Path(env) / "sbom"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeyard" / "sbom"


@dataclass(frozen=True)
class SbomStore:
    root: Path

    @classmethod
    def default(cls) -> SbomStore:
        return cls(default_dir())

    def path(self, image_id: str) -> Path:
        return self.root / f"{image_id.split(':', 1)[-1]}.cdx.json"

    def get(self, image_id: str) -> bytes | None:
        p = self.path(image_id)
        return p.read_bytes() if p.is_file() else None

    def put(self, image_id: str, data: bytes) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        p = self.path(image_id)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, p)
        return p


class _ChunkStream(io.RawIOBase):
    """A raw stream over the docker SDK's iterator of chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            try:
                self.pending = memoryview(next(self.chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def chunk_reader(chunks: Iterator[bytes]) -> IO[bytes]:
    return io.BufferedReader(_ChunkStream(chunks), buffer_size=CHUNK)  # type: ignore[return-value]


def inventory_of_archive(stream: IO[bytes]) -> tuple[inventory.Inventory, dict[str, Any]]:
    """Read a docker-archive export in one pass: layers in whatever order they come, stacked by
    the order manifest.json gives (it may come last). Returns the inventory and the image config."""
    deltas: dict[str, inventory.LayerDelta] = {}
    manifest: list[dict[str, Any]] | None = None
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            f = tar.extractfile(member)
            if f is None:
                continue
            if member.name == "manifest.json":
                manifest = json.loads(f.read())
            elif member.name.endswith(".json") and member.size < (16 << 20):
                files[member.name] = f.read()
            elif member.name.endswith(".tar") or member.name.endswith("/layer"):
                deltas[member.name] = inventory.read_layer(f)
    if not manifest or len(manifest) != 1:
        raise BuildError("the exported image has no single-image manifest.json (not a docker-archive)",
                         fix="check that the container engine's API is Docker-compatible")
    entry = manifest[0]
    missing = [name for name in entry.get("Layers", []) if name not in deltas]
    if missing:
        raise BuildError(f"the exported image lacks its layers {', '.join(missing[:3])}",
                         fix="rebuild the image and try again")
    inv = inventory.Inventory()
    for name in entry["Layers"]:
        inv.apply(deltas[name])
    config = json.loads(files.get(entry.get("Config", ""), b"{}") or b"{}")
    return inv, config


def generate(image: Any, name: str, tag: str) -> bytes:
    """The CycloneDX JSON of a local image (a docker SDK Image, or anything with .id and .save())."""
    inv, config = inventory_of_archive(chunk_reader(iter(image.save(chunk_size=CHUNK, named=False))))
    subject = cyclonedx.Subject(name, tag, image.id, created=_created(config))
    return cyclonedx.dumps(cyclonedx.bom(inv, subject))


def _created(config: dict[str, Any]) -> str:
    created = str(config.get("created") or "")
    # CycloneDX wants an RFC 3339 date-time; engines write nanoseconds, which JSON Schema's format allows.
    return created if created and not created.startswith("0001-") else ""


def for_image(image: Any, ref: str, store: SbomStore | None = None) -> tuple[bytes, bool]:
    """The stored SBOM of a local image, else a new one (stored). Returns (document, generated now)."""
    store = store or SbomStore.default()
    found = store.get(image.id)
    if found is not None:
        return found, False
    repo, _, tag = ref.rpartition(":")
    data = generate(image, repo or ref, tag if repo else "latest")
    store.put(image.id, data)
    return data, True


def summary(data: bytes) -> str:
    """'412 components: 380 deb, 25 pypi, 0 npm, 7 jar' from the document's own counts."""
    doc = json.loads(data)
    props = {p["name"]: p["value"] for p in doc.get("metadata", {}).get("properties", [])}
    parts = [f"{props.get(f'pipeyard:components:{k}', '0')} {k}" for k in ("deb", "pypi", "npm", "jar")]
    return f"{len(doc.get('components', []))} components: {', '.join(parts)}"


def record(docker_client: Any, ref: str, store: SbomStore | None = None) -> tuple[Path, bytes]:
    """After a build: the image's SBOM, made now (or found, for an unchanged image) and kept by image id."""
    store = store or SbomStore.default()
    image = docker_client.images.get(ref)
    data, _ = for_image(image, ref, store)
    return store.path(image.id), data
