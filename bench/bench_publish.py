"""Publishing: what a re-publish uploads, counted in the real registry's log.

Images are built in Python with a provider's layer order (OS, tool, pipeyard runtime, entrypoint),
served through the docker SDK's interface, and published to an embedded docker-registry:
1. first publish (the baseline);
2. re-publish with nothing changed: 0 blobs, no export, no recompression;
3. a one-line change in the entrypoint: only that layer and the config go up.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _report import Report  # noqa: E402

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish import images as pub
from pipeyard.publish.archive import LayerCache
from pipeyard_kit.registry import RegistryClient, Target
from tests.fixtures import free_port  # noqa: E402
from tests.publish.imagefactory import FakeDockerClient, noise  # noqa: E402

PROVIDERS = ("maven", "npm")
MB = 1_000_000


def add_images(store: FakeDockerClient, entry_line: bytes) -> None:
    os_layer = {"usr/lib/os.bin": noise("debian", 6 * MB)}
    runtime = {"opt/pipeyard/pipeyard.whl": noise("wheel", 300_000)}
    for name in PROVIDERS:
        tool = {f"opt/{name}/tool.bin": noise(name, 4 * MB)}
        entry = {f"usr/local/bin/{name}-entrypoint": b"#!/bin/sh\nset -e\n" + entry_line + b"exec \"$@\"\n"}
        store.add(pub.local_ref(name), [os_layer, tool, runtime, entry])


def run(store: FakeDockerClient, reg: LocalRegistry, cache: LayerCache) -> tuple[float, int, list[pub.Published]]:
    images = [pub.LocalImage(n, pub.local_ref(n)) for n in PROVIDERS]
    before = reg.log_offset()
    t0 = time.perf_counter()
    results = pub.publish_images(store, images, Target.parse(f"{reg.address}/pipeyard"),
                                 RegistryClient(reg.address, scheme="http"), ["1.0.0", "1", "latest"],
                                 cache=cache, echo=lambda _: None)
    seconds = time.perf_counter() - t0
    time.sleep(0.2)  # let the registry flush its access log
    return seconds, reg.blob_uploads(since=before), results


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp, \
            LocalRegistry(Path(tmp) / "registry", port=free_port()) as reg:
        cache = LayerCache(Path(tmp) / "cache")
        store = FakeDockerClient()
        add_images(store, b"echo ready\n")
        first_s, first_uploads, first = run(store, reg, cache)
        compressed_first = cache.compressed

        again_s, again_uploads, _ = run(store, reg, cache)
        exports = sum(store.images.get(pub.local_ref(n)).saves for n in PROVIDERS) - len(PROVIDERS)
        recompressed = cache.compressed - compressed_first

        add_images(store, b"echo ready, now with one more line\n")
        changed_s, changed_uploads, changed = run(store, reg, cache)
        changed_compressed = cache.compressed - compressed_first - recompressed

    image_bytes = sum(r.size for r in changed)
    changed_bytes = sum(r.stats.uploaded_bytes for r in changed)
    report = Report("publish: blob uploads counted in docker-registry's log (2 images, 4 layers each)")
    report.add("first publish", first_s, "s", baseline=first_s)
    report.add("first publish: blob uploads", first_uploads, "PUTs", goal="shared OS/runtime layers mounted")
    report.add("first publish: blobs mounted", sum(r.stats.mounted for r in first), "blobs")
    report.add("re-publish, nothing changed", again_s, "s", baseline=first_s)
    report.add("re-publish: blob uploads", again_uploads, "PUTs", goal="0")
    report.add("re-publish: images exported again", exports, "", goal="0 (config cached by image id)")
    report.add("re-publish: layers recompressed", recompressed, "", goal="0 (layers cached by diff_id)")
    report.add("one-line entrypoint change", changed_s, "s", baseline=first_s)
    report.add("one-line change: blob uploads", changed_uploads, "PUTs",
               goal=f"{2 * len(PROVIDERS)} (entrypoint layer + config per image)")
    report.add("one-line change: layers recompressed", changed_compressed, "", goal=f"{len(PROVIDERS)}")
    report.add("one-line change: bytes uploaded", changed_bytes, "B")
    report.add("one-line change: image data", image_bytes, "B")
    report.add("one-line change: uploaded / image size", changed_bytes / image_bytes * 100, "%", goal="< 1%")
    report.print()
    ok = (again_uploads == 0 and exports == 0 and recompressed == 0 and changed_uploads == 2 * len(PROVIDERS)
          and changed_compressed == len(PROVIDERS))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
