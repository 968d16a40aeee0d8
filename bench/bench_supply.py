"""The supply chain: what the air-gap bundle weighs, how fast it loads, and what SBOMs and signatures
add to a publish. Images are made in Python with real layer sizes (a shared Debian layer and runtime,
a tool layer each) and go through real docker-registry processes.

1. bundle size against the sum of the images' compressed sizes: the deduplication ratio;
2. `bundle load` into an empty registry against `pipeyard mirror` of the same images between the
   same two kinds of registry (the source the images were published to, an empty target), in one run;
3. a publish with SBOM referrers, signatures and attestations against the same publish without.
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
from pipeyard.publish.mirror import Mirror, mirror_images
from pipeyard.supply import attach
from pipeyard.supply.bundle.archive import Bundle
from pipeyard.supply.bundle.create import BundleImage, BundleRequest, create
from pipeyard.supply.bundle.load import load
from pipeyard.supply.keys import load_signing_key
from pipeyard.supply.sbom import SbomStore, for_image
from pipeyard_kit.registry import Reference, RegistryClient, Target
from tests.fixtures import free_port  # noqa: E402
from tests.publish.imagefactory import FakeDockerClient, noise  # noqa: E402
from tests.supply.conftest import DPKG_STATUS, OS_RELEASE, make_key  # noqa: E402

PROVIDERS = ("maven", "npm", "sonar", "sendmail")
MB = 1_000_000
quiet = lambda _: None  # noqa: E731


def add_images(store: FakeDockerClient) -> None:
    os_layer = {"usr/lib/os.bin": noise("debian", 8 * MB), "var/lib/dpkg/status": DPKG_STATUS * 200,
                "etc/os-release": OS_RELEASE}
    runtime = {"opt/pipeyard/runtime.bin": noise("python", 3 * MB)}
    for name in PROVIDERS:
        tool = {f"opt/{name}/tool.bin": noise(name, 5 * MB)}
        store.add(pub.local_ref(name), [os_layer, runtime, tool])


def registry(root: Path) -> LocalRegistry:
    return LocalRegistry(root, port=free_port())


def publish(store: FakeDockerClient, reg: LocalRegistry, cache: LayerCache, after=None) -> float:
    images = [pub.LocalImage(n, pub.local_ref(n)) for n in PROVIDERS]
    t0 = time.perf_counter()
    pub.publish_images(store, images, Target.parse(f"{reg.address}/pipeyard"), RegistryClient(reg.address, scheme="http"),
                       ["1.0.0", "1"], cache=cache, echo=quiet, after=after)
    return time.perf_counter() - t0


def main() -> None:
    report = Report("supply chain: bundle, load, SBOM and signing")
    with tempfile.TemporaryDirectory(prefix="bench-supply-") as tmp:
        tmp_path = Path(tmp)
        store = FakeDockerClient()
        add_images(store)
        cache = LayerCache(tmp_path / "cache")
        key = load_signing_key(make_key(tmp_path / "keys")[0])
        sboms = SbomStore(tmp_path / "sboms")

        # 1. Deduplication.
        made = create(store, BundleRequest(output=tmp_path / "bundle.tar",
                                           images=[BundleImage(n, pub.local_ref(n), ("1.0.0", "1")) for n in PROVIDERS],
                                           registry="127.0.0.1:5000/pipeyard", component_project="gitlab.example.com/p/p",
                                           key=key), cache=cache, sboms=sboms, echo=quiet)
        report.add("images one by one (compressed)", made.images_size / MB, "MB", baseline=made.images_size / MB)
        report.add("the bundle (all images, SBOMs, signatures)", made.size / MB, "MB", baseline=made.images_size / MB,
                   goal="< 1: shared blobs stored once")

        bare = create(store, BundleRequest(output=tmp_path / "bare.tar",
                                           images=[BundleImage(n, pub.local_ref(n), ("1.0.0", "1")) for n in PROVIDERS],
                                           registry="127.0.0.1:5000/pipeyard", component_project="gitlab.example.com/p/p",
                                           sboms=False), cache=cache, sboms=sboms, echo=quiet)

        # 2. bundle load vs pipeyard mirror, into empty registries, in the same run.
        with registry(tmp_path / "source") as source, registry(tmp_path / "mirror-target") as mtarget, \
                registry(tmp_path / "load-target") as ltarget, registry(tmp_path / "bare-target") as btarget:
            publish(store, source, cache)
            refs = [Reference.parse(f"{source.address}/pipeyard/{n}:1.0.0") for n in PROVIDERS]
            src_client = RegistryClient(source.address, scheme="http")
            t0 = time.perf_counter()
            mirror_images(refs, Mirror(Target.parse(mtarget.address, need_prefix=False),
                                       RegistryClient(mtarget.address, scheme="http"), lambda _: src_client), echo=quiet)
            mirror_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            load(Bundle.open(bare.path), Target.parse(f"{btarget.address}/pipeyard"),
                 RegistryClient(btarget.address, scheme="http"), tmp_path / "bare-offline", echo=quiet)
            bare_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            load(Bundle.open(made.path), Target.parse(f"{ltarget.address}/pipeyard"),
                 RegistryClient(ltarget.address, scheme="http"), tmp_path / "offline", echo=quiet)
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            load(Bundle.open(made.path), Target.parse(f"{ltarget.address}/pipeyard"),
                 RegistryClient(ltarget.address, scheme="http"), tmp_path / "offline", echo=quiet)
            again_s = time.perf_counter() - t0
        report.add("pipeyard mirror of the images, registry to empty registry", mirror_s, baseline=mirror_s)
        report.add("bundle load of the same images alone (verify, then push)", bare_s, baseline=mirror_s,
                   goal="~1x: the verify pass is the price of an offline file")
        report.add("bundle load with SBOMs, signatures, attestations", load_s, baseline=mirror_s)
        report.add("second bundle load (uploads nothing)", again_s, baseline=mirror_s)

        # 3. What SBOMs and signatures add to a publish.
        with registry(tmp_path / "plain") as plain, registry(tmp_path / "signed") as signed:
            plain_s = publish(store, plain, cache)
            fresh = SbomStore(tmp_path / "fresh-sboms")
            client = RegistryClient(signed.address, scheme="http")

            def supply(image, local, result) -> str:
                document, _ = for_image(local, image.ref, fresh)
                return attach.attach(client, f"pipeyard/{image.name}", result.digest, document, key).describe()

            signed_s = publish(store, signed, cache, after=supply)
        report.add("publish, images only", plain_s, baseline=plain_s)
        report.add("publish with SBOM (generated), referrer, signature, attestation", signed_s, baseline=plain_s)
        report.add("  of which supply chain, per image", (signed_s - plain_s) / len(PROVIDERS), baseline=None)
    report.print()


if __name__ == "__main__":
    main()
