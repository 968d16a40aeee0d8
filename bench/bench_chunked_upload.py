"""A large layer to the real docker-registry: one PUT (the baseline) against chunks, and what a
connection reset in the middle costs when the upload resumes.

1. 96 MiB in one PUT (the client with a chunk size above the blob);
2. the same in 32 MiB chunks (the default) and in 8 MiB chunks;
3. 32 MiB chunks through the fault-injecting proxy of tests/publish, which resets the connection of
   the second chunk: the bytes sent again, against a restart from byte 0 (a monolithic PUT cut in
   the same place sends the whole blob again).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _report import Report  # noqa: E402

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard_kit.registry import RegistryClient
from tests.fixtures import free_port  # noqa: E402
from tests.publish.registry_proxy import RegistryProxy  # noqa: E402

MIB = 1 << 20
SIZE = 96 * MIB


class Counting:
    """The blob's bytes, counting what every attempt reads."""

    def __init__(self, path: Path):
        self.path = path
        self.read = 0

    def open(self):
        counter = self

        class File:
            def __init__(self) -> None:
                self.f = open(counter.path, "rb")

            def read(self, n: int = -1) -> bytes:
                data = self.f.read(n)
                counter.read += len(data)
                return data

            def seek(self, pos: int) -> int:
                return self.f.seek(pos)

            def close(self) -> None:
                self.f.close()

        return File()


def upload(address: str, repo: str, digest: str, blob: Counting, chunk: int) -> tuple[float, int]:
    os.environ.setdefault("PIPEYARD_RETRY_BACKOFF", "0.01")
    client = RegistryClient(address, scheme="http", chunk_size=chunk)
    blob.read = 0
    t0 = time.perf_counter()
    client.upload_blob(repo, digest, SIZE, blob.open)
    return time.perf_counter() - t0, blob.read


def main() -> None:
    report = Report(f"uploading a {SIZE // MIB} MiB layer: one PUT vs chunks, and resuming after a reset")
    with tempfile.TemporaryDirectory(prefix="bench-chunks-") as tmp, \
            LocalRegistry(Path(tmp) / "registry", port=free_port()) as reg:
        path = Path(tmp) / "layer.bin"
        path.write_bytes(os.urandom(SIZE))
        digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        blob = Counting(path)
        upload(reg.address, "warm/up", digest, blob, SIZE + 1)  # page cache, registry start: not timed
        base_s, _ = upload(reg.address, "bench/whole", digest, blob, SIZE + 1)
        report.add("one PUT (baseline): wall time", base_s)
        for mib in (32, 8):
            seconds, _ = upload(reg.address, f"bench/chunks{mib}", digest, blob, mib * MIB)
            report.add(f"{mib} MiB chunks: wall time", seconds, baseline=base_s)
        with RegistryProxy(reg.address) as proxy:
            proxy_s, _ = upload(proxy.address, "bench/proxied", digest, blob, 32 * MIB)
            report.add("32 MiB chunks through the proxy: wall time", proxy_s, baseline=base_s)
            proxy.fail("PATCH", r"/blobs/uploads/", reset="request", skip=1)
            seconds, sent = upload(proxy.address, "bench/resumed", digest, blob, 32 * MIB)
            report.add("32 MiB chunks, reset in chunk 2, resumed: wall time", seconds, baseline=proxy_s)
            report.add("  bytes read from the layer", sent / MIB, "MiB",
                       goal=f"at most {SIZE // MIB + 32} (one chunk again), not {2 * SIZE // MIB}")
    report.print()


if __name__ == "__main__":
    main()
