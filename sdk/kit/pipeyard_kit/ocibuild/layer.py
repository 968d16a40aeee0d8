"""A layer written as a tar stream in Python, the same bytes on every machine.

Entries are sorted by path, every parent folder is written before what it holds, and each entry
gets a fixed mtime (1980-01-01, the earliest a zip entry can carry: what Spring Boot and Jib use),
uid and gid 0, no user or group name, mode 0644 for files and 0755 for folders. The tar is PAX
(long class names need it); Python's writer puts no clock into its headers. So the same files give
the same diff_id whatever the clock, the umask or the file system of the machine that writes them.

The compressed form comes from pipeyard_kit.ocibuild.cache: gzipped deterministically and cached by
diff_id, so a layer whose files did not change is hashed again but never recompressed.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from pipeyard_kit.errors import BuildError
from pipeyard_kit.ocibuild.cache import LayerCache
from pipeyard_kit.registry.oci import Blob

# 1980-01-01T00:00:00Z.
FIXED_MTIME = 315532800
FILE_MODE = 0o644
DIR_MODE = 0o755


@dataclass(frozen=True)
class Entry:
    """One file of a layer: where it goes in the image, and where its bytes come from.

    The bytes are a file on disk (`source`), or a member of a zip (`source` is the zip, `member` the
    entry's name), so an exploded jar is never unpacked to disk first.
    """

    path: str  # inside the image, relative to /: app/BOOT-INF/lib/x.jar
    source: Path
    member: str | None = None
    size: int = 0

    def __post_init__(self) -> None:
        parts = PurePosixPath(self.path).parts
        if not parts or self.path.startswith("/") or ".." in parts or "." in parts:
            raise BuildError(f"a layer entry would land outside the image's folders ({self.path!r})",
                             fix="the jar holds a path with '..' or a leading '/'; rebuild it")


@dataclass(frozen=True)
class LayerSpec:
    """A named layer: the files it adds, in any order (the tar sorts them)."""

    name: str
    entries: tuple[Entry, ...]
    comment: str = ""


@dataclass
class Layer:
    """A written layer: its compressed blob and what it holds."""

    name: str
    diff_id: str
    blob: Blob | None  # None while only its diff_id is known (the registry may have it already)
    files: int
    size: int  # uncompressed bytes of the files it holds
    comment: str = ""
    tar: Path | None = field(default=None, repr=False)  # the uncompressed tar, until it is compressed


def _parents(path: str) -> list[str]:
    parts = PurePosixPath(path).parts[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _sort_key(path: str) -> tuple[str, ...]:
    # By component, so a folder's files follow it directly (plain text order puts "a-b" between "a" and "a/").
    return tuple(path.split("/"))


def _info(name: str, *, folder: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if folder:
        info.type = tarfile.DIRTYPE
        info.mode = DIR_MODE
    else:
        info.mode = FILE_MODE
        info.size = size
    return info


class _Hashing:
    """A write-only file that hashes what goes through it (the tar's diff_id)."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def write_tar(entries: Iterable[Entry], out: IO[bytes]) -> tuple[str, int, int]:
    """Write the entries as a deterministic tar; returns (diff_id, files, bytes of the files)."""
    by_path: dict[str, Entry] = {}
    for entry in entries:
        if entry.path in by_path:
            raise BuildError(f"two files would land at /{entry.path} in one layer",
                             fix="the jar or the dependency folder holds the same path twice; rebuild it")
        by_path[entry.path] = entry
    folders = {p for path in by_path for p in _parents(path)}
    clash = folders & set(by_path)
    if clash:
        raise BuildError(f"/{min(clash)} would be both a file and a folder in one layer",
                         fix="the jar holds a file and a folder of the same name; rebuild it")
    hashing = _Hashing(out)
    zips: dict[Path, zipfile.ZipFile] = {}
    total = 0
    try:
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for path in sorted(folders | set(by_path), key=_sort_key):
                entry = by_path.get(path)
                if entry is None:
                    tar.addfile(_info(path, folder=True))
                    continue
                if entry.member is None:
                    size = entry.source.stat().st_size
                    with open(entry.source, "rb") as src:
                        tar.addfile(_info(path, folder=False, size=size), src)
                else:
                    z = zips.get(entry.source) or zips.setdefault(entry.source, zipfile.ZipFile(entry.source))
                    member = z.getinfo(entry.member)
                    size = member.file_size
                    with z.open(member) as src:
                        tar.addfile(_info(path, folder=False, size=size), src)
                total += size
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise BuildError(f"cannot read a file of the layer ({exc})",
                         fix="check that the jar and the dependency folder are complete and readable") from None
    finally:
        for z in zips.values():
            z.close()
    return "sha256:" + hashing.hash.hexdigest(), len(by_path), total


def write_layer(spec: LayerSpec, cache: LayerCache, workdir: Path) -> Layer:
    """The layer's tar and diff_id; its compressed blob when the cache has it (else `compress` makes it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=workdir, prefix=f"{spec.name}.", suffix=".tar")
    with os.fdopen(fd, "wb") as out:
        diff_id, files, size = write_tar(spec.entries, out)
    blob = cache.layer(diff_id)
    if blob is not None:
        os.unlink(tmp)
        return Layer(spec.name, diff_id, blob, files, size, spec.comment)
    return Layer(spec.name, diff_id, None, files, size, spec.comment, tar=Path(tmp))


def compress(layer: Layer, cache: LayerCache) -> Blob:
    """Gzip the layer's tar into the cache (once); the tar is removed after."""
    if layer.blob is not None:
        return layer.blob
    if layer.tar is None:
        raise BuildError(f"layer {layer.name} has neither a blob nor its tar", fix="report this as a pipeyard bug")
    with open(layer.tar, "rb") as src:
        layer.blob = cache.add_layer(layer.diff_id, src)
    layer.tar.unlink(missing_ok=True)
    layer.tar = None
    return layer.blob


def discard(layers: Iterable[Layer]) -> None:
    """Remove the tars of layers that were never compressed (the registry had them)."""
    for layer in layers:
        if layer.tar is not None:
            layer.tar.unlink(missing_ok=True)
            layer.tar = None
