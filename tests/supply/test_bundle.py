"""The air-gap bundle with images made in Python: create, verify, load into a second real registry,
a second load that uploads nothing, and a flipped byte anywhere that fails verify and load by name."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
import requests
import yaml

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish.archive import LayerCache
from pipeyard.supply import cyclonedx, referrers
from pipeyard.supply.bundle import templates, trust
from pipeyard.supply.bundle.archive import MANIFEST, Bundle, BundleError
from pipeyard.supply.bundle.create import BundleImage, BundleRequest, create
from pipeyard.supply.bundle.load import load, needs
from pipeyard.supply.keys import load_public_key
from pipeyard.supply.sbom import SbomStore
from pipeyard.supply.verify import verify_image
from pipeyard_kit.registry import RegistryClient, Target
from tests.fixtures import ROOT
from tests.publish.imagefactory import FakeDockerClient

TAGS = ("1.0.0", "1")


def make_bundle(tmp_path: Path, store: FakeDockerClient, cache: LayerCache, key=None, agents=()) -> Path:
    request = BundleRequest(
        output=tmp_path / "pipeyard-1.0.0.tar",
        images=[BundleImage(n, f"localhost/pipeyard/{n}:1.0.0", TAGS) for n in ("maven", "npm")],
        registry="127.0.0.1:5000/pipeyard", component_project="gitlab.example.com/platform/pipeyard",
        templates=ROOT / "pipeline-templates", chart=ROOT / "sdk/pipeyard/charts/skeleton/chart",
        agents=list(agents), key=key)
    made = create(store, request, cache=cache, sboms=SbomStore(tmp_path / "sboms"), echo=lambda _: None)
    assert made.images == 2
    return made.path


def test_one_layout_with_shared_blobs_once_sboms_signatures_and_every_part_listed(
        tmp_path: Path, store: FakeDockerClient, cache: LayerCache, key, agent_mirror) -> None:
    mirror, agents = agent_mirror
    path = make_bundle(tmp_path, store, cache, key, [(a, mirror) for a in agents])
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert names[0] == "oci-layout" and names[-1] == MANIFEST
    assert len(names) == len(set(names))
    b = Bundle.open(path)
    index = json.loads(b.read("index.json"))
    images = [m for m in index["manifests"] if m["annotations"]["dev.pipeyard.bundle.kind"] == "provider"]
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in images] == ["maven:1.0.0", "npm:1.0.0"]
    # The base layer both images share is one part.
    layers = [json.loads(b.read(b.blob_name(m["digest"])))["layers"] for m in images]
    assert layers[0][0]["digest"] == layers[1][0]["digest"]
    assert sum(1 for n in names if n == b.blob_name(layers[0][0]["digest"])) == 1
    kinds = sorted(m["annotations"]["dev.pipeyard.bundle.kind"] for m in index["manifests"])
    assert kinds == ["attestation"] * 2 + ["provider"] * 2 + ["sbom"] * 2 + ["signature"] * 2
    assert set(b.manifest["parts"]) == set(names) - {MANIFEST}
    assert {a["path"] for a in b.manifest["agents"]} == {a.path for a in agents}
    assert f"b2i-agents/{agents[0].path}" in names and "chart/Chart.yaml.tmpl" in names
    assert "pipeline-templates/templates/maven.yml" in names
    sbom = json.loads(b.read(b.blob_name(json.loads(b.read(b.blob_name(b.manifest["images"][0]["sbom"])))["layers"][0]["digest"])))
    assert sbom["bomFormat"] == "CycloneDX"
    assert any(c["name"] == "pipeyard-maven" for c in sbom["components"])
    assert b.verify() > 0
    assert len(trust.check(b, load_public_key(Path(str(key.origin).removeprefix("--key "))))) == 2


def test_load_into_an_empty_registry_then_a_second_load_uploads_nothing(
        tmp_path: Path, store: FakeDockerClient, cache: LayerCache, key, keypair, site_registry: LocalRegistry) -> None:
    path = make_bundle(tmp_path, store, cache, key)
    b = Bundle.open(path)
    target = Target.parse(f"{site_registry.address}/platform")
    client = RegistryClient(site_registry.address, scheme="http")
    loaded = load(b, target, client, tmp_path / "site", echo=lambda _: None)
    assert loaded.stats.uploaded > 0 and loaded.images == [f"{target}/maven", f"{target}/npm"]

    for image in b.manifest["images"]:
        repo = f"platform/{image['name']}"
        assert client.manifest_digest(repo, "1.0.0") == image["digest"] == client.manifest_digest(repo, "1")
        sboms = referrers.list_referrers(client, repo, image["digest"], cyclonedx.MEDIA_TYPE)
        assert [s["digest"] for s in sboms] == [image["sbom"]]
        verdict = verify_image(client, repo, "1.0.0", load_public_key(keypair[1]))
        assert verdict.signed and verdict.attested, verdict.lines()

    # The templates now default to the site's registry, in components and classic includes alike.
    written = tmp_path / "site" / "pipeline-templates"
    # The workflow template names no image, so it has no registry to rewrite.
    for f in [*written.glob("templates/*.yml"), *written.glob("*.gitlab-ci.yml")]:
        if f.stem.startswith("workflow"):
            continue
        values = templates.registry_values(f.read_text())
        assert values and set(values) == {str(target)}, f
        assert "127.0.0.1:5000" not in f.read_text()
    maven = list(yaml.safe_load_all((written / "maven.gitlab-ci.yml").read_text()))[0]
    assert maven[".maven-build"]["image"] == "$PIPEYARD_REGISTRY/maven:1.0.0-jdk$MAVEN_JDK"
    lines = needs(b, target, loaded)
    assert f"PIPEYARD_REGISTRY={target}" in "\n".join(lines)

    before = site_registry.log_offset()
    again = load(b, target, client, tmp_path / "site", echo=lambda _: None)
    assert again.stats.uploaded == again.stats.mounted == again.stats.manifests == 0
    assert site_registry.blob_uploads(since=before) == 0


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x20]))


def _places(b: Bundle) -> dict[str, tuple[int, str]]:
    """Where to flip a byte, and the part the error must name."""
    by_offset = sorted(b.parts.values(), key=lambda p: p.offset)
    blob = next(p for p in by_offset if p.name.startswith("blobs/") and p.size > 1000)
    template = next(p for p in by_offset if p.name.startswith("pipeline-templates/"))
    small = next(p for p in by_offset if p.size % 512 and p.name.startswith("blobs/"))
    last = by_offset[-1]
    return {
        "layer data": (blob.offset + blob.size // 2, blob.name),
        "template": (template.offset + 3, template.name),
        "index": (b.parts["index.json"].offset + 10, "index.json"),
        "a header's mode": (blob.offset - 512 + 100, blob.name),
        "a header's checksum tail": (blob.offset - 512 + 155, blob.name),
        "padding": (small.offset + small.size + 1, small.name),
        "the manifest": (b.parts[MANIFEST].offset + 20, MANIFEST),
        "the closing zeros": (last.offset + last.size + 700, last.name),
    }


@pytest.mark.parametrize("where", ["layer data", "template", "index", "a header's mode", "a header's checksum tail",
                                   "padding", "the manifest", "the closing zeros"])
def test_a_flipped_byte_anywhere_fails_verify_and_load_naming_the_part(
        where: str, tmp_path: Path, store: FakeDockerClient, cache: LayerCache, site_registry: LocalRegistry) -> None:
    path = make_bundle(tmp_path, store, cache)
    offset, part = _places(Bundle.open(path))[where]
    _flip(path, offset)
    with pytest.raises(BundleError) as e:
        Bundle.open(path).verify()
    assert part in str(e.value)
    before = site_registry.log_offset()
    with pytest.raises(BundleError):
        load(Bundle.open(path), Target.parse(f"{site_registry.address}/platform"),
             RegistryClient(site_registry.address, scheme="http"), tmp_path / "site", echo=lambda _: None)
    assert site_registry.blob_uploads(since=before) == 0
    assert requests.get(f"{site_registry.url}/v2/_catalog", timeout=5).json()["repositories"] == []


def test_signatures_are_checked_against_the_key(tmp_path: Path, store: FakeDockerClient, cache: LayerCache, key,
                                                other_keypair) -> None:
    b = Bundle.open(make_bundle(tmp_path, store, cache, key))
    with pytest.raises(BundleError) as e:
        trust.check(b, load_public_key(other_keypair[1]))
    assert "maven:1.0.0: the signature does not verify (the signature does not match the key)" in str(e.value)
    unsigned = Bundle.open(make_bundle(tmp_path / "unsigned", store, cache))
    with pytest.raises(BundleError) as e:
        trust.check(unsigned, load_public_key(other_keypair[1]))
    assert "maven:1.0.0 has no signature in the bundle" in str(e.value)
