"""Small images made in Python, served through a stand-in for the docker SDK client.

The stand-in speaks the slice of the SDK that publish uses: `client.images.get(ref)` returning an
object with `.id` and `.save()`, which yields a docker-archive tar exactly as Docker and Podman
export one (manifest.json, the config as <hex>.json, uncompressed <n>/layer.tar files).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import docker.errors


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def noise(seed: str, size: int) -> bytes:
    """Incompressible bytes, so layer sizes in benchmarks mean something."""
    out, block = bytearray(), seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


class FakeImage:
    def __init__(self, layers: list[dict[str, bytes]], ref: str, cmd: list[str] | None = None):
        self.layer_tars = [layer_tar(files) for files in layers]
        diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in self.layer_tars]
        self.config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": cmd or ["/bin/sh"], "User": "10001"},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"layer {i}"} for i in range(len(diff_ids))],
        }, sort_keys=True).encode()
        self.id = "sha256:" + hashlib.sha256(self.config).hexdigest()
        self.tags = [ref]
        self.saves = 0

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.layer_tars) + len(self.config)

    def archive(self) -> bytes:
        hex_ = self.id.split(":")[1]
        members = {f"{hex_}.json": self.config}
        paths = []
        for i, t in enumerate(self.layer_tars):
            paths.append(f"{i:064x}/layer.tar")
            members[paths[-1]] = t
        members["manifest.json"] = json.dumps([{"Config": f"{hex_}.json", "RepoTags": self.tags,
                                                "Layers": paths}]).encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    def save(self, chunk_size: int = 2 << 20, named: bool = False):
        self.saves += 1
        data = self.archive()
        for i in range(0, len(data), chunk_size):
            yield data[i:i + chunk_size]


class FakeImages:
    def __init__(self) -> None:
        self.by_ref: dict[str, FakeImage] = {}

    def get(self, ref: str) -> FakeImage:
        try:
            return self.by_ref[ref]
        except KeyError:
            raise docker.errors.ImageNotFound(f"No such image: {ref}") from None


class FakeDockerClient:
    def __init__(self) -> None:
        self.images = FakeImages()

    def add(self, ref: str, layers: list[dict[str, bytes]], cmd: list[str] | None = None) -> FakeImage:
        image = FakeImage(layers, ref, cmd)
        self.images.by_ref[ref] = image
        return image
