"""Search an exported image (every layer, the config, the history) for given strings."""

from __future__ import annotations

import io
import json
import tarfile
import zlib
from collections.abc import Iterator

CHUNK = 1 << 20


class _IterReader(io.RawIOBase):
    """A file over the byte chunks of an API stream, for tarfile's streaming mode."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _scan(stream, needles: list[bytes], where: str, hits: set[str]) -> None:
    keep = max(len(n) for n in needles)
    tail = b""
    first = stream.read(CHUNK)
    # Layers are plain tar in docker-archive, but gzip where an engine keeps them compressed.
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if first[:2] == b"\x1f\x8b" else None
    chunk = first
    while chunk:
        data = inflate.decompress(chunk) if inflate else chunk
        window = tail + data
        for n in needles:
            if n in window:
                hits.add(f"{where}: {n.decode()}")
        tail = window[-keep:]
        chunk = stream.read(CHUNK)


def scan_image(eng, ref: str, needles: list[str]) -> list[str]:
    encoded = [n.encode() for n in needles]
    hits: set[str] = set()
    image = eng.client.images.get(ref)
    meta = json.dumps([image.attrs, image.history()]).encode()
    for n in encoded:
        if n in meta:
            hits.add(f"config or history: {n.decode()}")
    with tarfile.open(fileobj=io.BufferedReader(_IterReader(iter(image.save(named=True))), CHUNK), mode="r|") as tar:
        for member in tar:
            if member.isfile():
                _scan(tar.extractfile(member), encoded, member.name, hits)
    return sorted(hits)
