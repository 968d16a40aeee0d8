"""SBOM referrers on a registry with the referrers API (no fallback tag) and on one without (the tag)."""

from __future__ import annotations

from pathlib import Path

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish import images as pub
from pipeyard.publish.archive import LayerCache
from pipeyard.supply import attach, cyclonedx, referrers
from pipeyard_kit.registry import RegistryClient, Target
from tests.publish.imagefactory import FakeDockerClient

from .referrers_registry import ReferrersRegistry


def push(store: FakeDockerClient, address: str, cache: LayerCache) -> tuple[RegistryClient, str]:
    client = RegistryClient(address, scheme="http")
    [result] = pub.publish_images(store, [pub.LocalImage("maven", "localhost/pipeyard/maven:1.0.0")],
                                  Target.parse(f"{address}/pipeyard"), client, ["1.0.0"], cache=cache,
                                  echo=lambda _: None)
    return client, result.digest


def tags(client: RegistryClient, repo: str) -> list[str]:
    r = client.request("GET", f"/v2/{repo}/tags/list", repo=repo, what="tags")
    return sorted(r.json()["tags"])


def test_with_the_referrers_api_no_fallback_tag_is_kept(store: FakeDockerClient, registry: LocalRegistry,
                                                        cache: LayerCache, tmp_path: Path) -> None:
    with ReferrersRegistry(registry.address) as api:
        client, digest = push(store, api.address, cache)
        sbom = b'{"bomFormat": "CycloneDX"}'
        first = attach.attach(client, "pipeyard/maven", digest, sbom, None)
        assert first.sbom.uploaded and first.sbom.listed_by == "referrers API"
        assert tags(client, "pipeyard/maven") == ["1.0.0"]
        found = referrers.list_referrers(client, "pipeyard/maven", digest, cyclonedx.MEDIA_TYPE)
        assert [f["digest"] for f in found] == [first.sbom.digest]
        assert found[0]["annotations"]["org.opencontainers.image.description"] == "CycloneDX SBOM by pipeyard"
        again = attach.attach(client, "pipeyard/maven", digest, sbom, None)
        assert not again.sbom.uploaded and again.sbom.listed_by == "referrers API"


def test_without_it_the_fallback_index_lists_each_referrer_once(store: FakeDockerClient, registry: LocalRegistry,
                                                                cache: LayerCache) -> None:
    client, digest = push(store, registry.address, cache)
    assert client.referrers("pipeyard/maven", digest) is None  # docker-registry 2.8: 404
    one = attach.attach(client, "pipeyard/maven", digest, b'{"n": 1}', None)
    two = attach.attach(client, "pipeyard/maven", digest, b'{"n": 2}', None)
    attach.attach(client, "pipeyard/maven", digest, b'{"n": 1}', None)
    assert tags(client, "pipeyard/maven") == ["1.0.0", referrers.fallback_tag(digest)]
    listed = referrers.list_referrers(client, "pipeyard/maven", digest, cyclonedx.MEDIA_TYPE)
    assert [x["digest"] for x in listed] == [one.sbom.digest, two.sbom.digest]
    assert all(x["artifactType"] == cyclonedx.MEDIA_TYPE for x in listed)
