"""The OCI client against a real docker-registry: skip, mount, upload, tag last; auth; faults."""

from __future__ import annotations

import json

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry import Credentials, OciImage, push_image
from pipeyard_kit.registry.credentials import env_hint

from .conftest import PASSWORD, USER, client_for
from .imagefactory import FakeImage, noise
from .registry_proxy import RegistryProxy

REPO = "pipeyard/tool"


def build(cache: LayerCache, app: bytes = b"echo v1\n") -> OciImage:
    img = FakeImage([{"base.bin": noise("base", 200_000)}, {"lib.bin": noise("lib", 50_000)}, {"app.sh": app}],
                    "localhost/pipeyard/tool:1.0.0")
    return oci_image(img, cache)


def tag_digest(reg: LocalRegistry, repo: str, tag: str) -> str | None:
    r = requests.head(f"{reg.url}/v2/{repo}/manifests/{tag}", timeout=5,
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    return r.headers["Docker-Content-Digest"] if r.status_code == 200 else None


def test_push_uploads_every_blob_then_tags_and_the_image_reads_back(registry: LocalRegistry,
                                                                    cache: LayerCache) -> None:
    oci = build(cache)
    client = client_for(registry)
    moved = push_image(client, REPO, oci, ["1.0.0", "1", "latest"])
    assert moved == ["1.0.0", "1", "latest"]
    assert (client.stats.uploaded, client.stats.skipped, client.stats.mounted) == (4, 0, 0)
    assert client.stats.uploaded_bytes == sum(b.size for b in oci.blobs)
    for tag in moved:
        assert tag_digest(registry, REPO, tag) == oci.digest
    # The registry holds the exact manifest bytes, so the digest is the one computed here.
    data, media_type = client.get_manifest(REPO, "latest")
    assert data == oci.manifest and media_type == oci.media_type
    layer = oci.layers[0]
    assert b"".join(client.blob_stream(REPO, layer.digest)) == layer.open().read()


def test_republishing_the_same_image_uploads_nothing(registry: LocalRegistry, cache: LayerCache) -> None:
    push_image(client_for(registry), REPO, build(cache), ["1.0.0"])
    before = registry.log_offset()
    again = client_for(registry)
    assert push_image(again, REPO, build(cache), ["1.0.0"]) == []
    assert (again.stats.uploaded, again.stats.skipped, again.stats.manifests) == (0, 4, 0)
    assert registry.blob_uploads(since=before) == 0


def test_a_one_line_change_uploads_only_that_layer_and_the_config(registry: LocalRegistry,
                                                                  cache: LayerCache) -> None:
    first = build(cache)
    push_image(client_for(registry), REPO, first, ["1.0.0"])
    before = registry.log_offset()
    changed = build(cache, b"echo v2\n")
    client = client_for(registry)
    assert push_image(client, REPO, changed, ["1.0.0"]) == ["1.0.0"]
    assert registry.blob_uploads(since=before) == 2
    assert client.stats.uploaded_bytes == changed.layers[2].size + changed.config.size
    assert tag_digest(registry, REPO, "1.0.0") == changed.digest


def test_blobs_in_another_repository_are_mounted(registry: LocalRegistry, cache: LayerCache) -> None:
    oci = build(cache)
    mount_from: dict[str, str] = {}
    push_image(client_for(registry), "pipeyard/a", oci, ["1"], mount_from)
    before = registry.log_offset()
    client = client_for(registry)
    push_image(client, "pipeyard/b", oci, ["1"], mount_from)
    assert (client.stats.mounted, client.stats.uploaded) == (4, 0)
    assert registry.blob_uploads(since=before) == 0
    assert tag_digest(registry, "pipeyard/b", "1") == oci.digest


def test_basic_auth_with_credentials_pushes(auth_registry: LocalRegistry, cache: LayerCache) -> None:
    client = client_for(auth_registry, credentials=Credentials(USER, PASSWORD, env_hint("PIPEYARD_REGISTRY")))
    client.ping()
    assert push_image(client, REPO, build(cache), ["1"]) == ["1"]


def test_401_without_credentials_names_the_variables(auth_registry: LocalRegistry) -> None:
    client = client_for(auth_registry, credential_hint=env_hint("PIPEYARD_REGISTRY"))
    with pytest.raises(RemoteError) as e:
        client.ping()
    message = str(e.value)
    assert f"registry {auth_registry.address} answered 401 Unauthorized" in message
    assert "set PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD" in message


def test_401_with_wrong_credentials_says_they_were_refused_without_the_password(auth_registry: LocalRegistry) -> None:
    client = client_for(auth_registry, credentials=Credentials(USER, "not-the-password",
                                                              env_hint("PIPEYARD_REGISTRY")))
    with pytest.raises(RemoteError) as e:
        client.ping()
    assert "check PIPEYARD_REGISTRY_USERNAME" in str(e.value) and "refused" in str(e.value)
    assert "not-the-password" not in str(e.value)
    assert "not-the-password" not in repr(client.auth.credentials)


def test_unreachable_registry_names_the_host_and_the_embedded_registry(cache: LayerCache) -> None:
    from tests.fixtures import free_port

    port = free_port()
    client = client_for(type("R", (), {"address": f"127.0.0.1:{port}"})())
    with pytest.raises(RemoteError) as e:
        client.ping()
    assert f"registry 127.0.0.1:{port} is unreachable (connection refused)" in str(e.value)
    assert "pipeyard registry start" in str(e.value)
    assert client.stats.retries == 3  # PIPEYARD_RETRIES=4 in tests


def test_token_auth_as_harbor_does_it(registry: LocalRegistry, cache: LayerCache) -> None:
    with RegistryProxy(registry.address, users={USER: PASSWORD}) as harbor_like:
        client = client_for(harbor_like, credentials=Credentials(USER, PASSWORD, env_hint("HARBOR")))
        assert push_image(client, REPO, build(cache), ["1"]) == ["1"]
        scopes = [s for q in harbor_like.token_requests for s in q.get("scope", [])]
        # A token per scope, each fetched once: pull for the blob checks, pull,push for the writes.
        assert scopes == [f"repository:{REPO}:pull", f"repository:{REPO}:pull,push"]
        assert all(q["service"] == ["harbor-registry"] for q in harbor_like.token_requests)
        # Only the very first request met a challenge; every later one carried the right token.
        assert [s for m, p, a, s in harbor_like.seen if s == 401] == [401]

        anonymous = client_for(harbor_like, credential_hint=env_hint("HARBOR"))
        with pytest.raises(RemoteError) as e:
            push_image(anonymous, REPO, build(cache), ["2"])
        assert "401" in str(e.value) and "set HARBOR_USERNAME" in str(e.value)
    assert tag_digest(registry, REPO, "2") is None


def test_a_transient_5xx_mid_push_is_retried_and_the_push_completes(registry: LocalRegistry,
                                                                   proxy: RegistryProxy, cache: LayerCache) -> None:
    proxy.fail("PUT", r"/blobs/uploads/", status=503, times=2)
    proxy.fail("PUT", r"/manifests/", status=502, times=1)
    oci = build(cache)
    client = client_for(proxy)
    assert push_image(client, REPO, oci, ["1.0.0"]) == ["1.0.0"]
    assert client.stats.retries == 3
    assert client.stats.uploaded == 4
    assert tag_digest(registry, REPO, "1.0.0") == oci.digest
    assert [s for m, p, s in proxy.log if m == "PUT" and "/blobs/uploads/" in p].count(503) == 2


def test_a_5xx_that_persists_fails_clearly_and_never_tags_a_partial_image(registry: LocalRegistry,
                                                                          proxy: RegistryProxy,
                                                                          cache: LayerCache) -> None:
    old = build(cache)
    push_image(client_for(registry), REPO, old, ["1.0.0"])
    new = build(cache, b"echo v2\n")
    # The registry breaks in the middle of the push: the first new blob goes up, the next fails for good.
    uploads = {"n": 0}
    original = proxy.injected

    def second_upload_breaks(method: str, path: str) -> int | None:
        if method == "PUT" and "/blobs/uploads/" in path:
            uploads["n"] += 1
            if uploads["n"] >= 2:
                return 500
        return original(method, path)

    proxy.injected = second_upload_breaks  # type: ignore[method-assign]
    client = client_for(proxy)
    with pytest.raises(RemoteError) as e:
        push_image(client, REPO, new, ["1.0.0", "latest"])
    message = str(e.value)
    assert f"registry {proxy.address} kept failing with 500" in message
    assert "(4 attempts)" in message and "no tag was moved to a partial image" in message
    assert client.stats.uploaded == 1 and client.stats.retries == 3
    assert tag_digest(registry, REPO, "1.0.0") == old.digest, "the tag still names the old, complete image"
    assert tag_digest(registry, REPO, "latest") is None
    assert tag_digest(registry, REPO, new.digest) is None
    assert not [p for m, p, s in proxy.log if m == "PUT" and "/manifests/" in p]


def test_registry_errors_carry_the_registry_message(registry: LocalRegistry, cache: LayerCache) -> None:
    oci = build(cache)
    client = client_for(registry)
    # A manifest whose blobs were never pushed: the registry refuses it (400 MANIFEST_BLOB_UNKNOWN).
    with pytest.raises(RemoteError) as e:
        client.put_manifest(REPO, "1", oci.manifest, oci.media_type)
    assert f"registry {registry.address} answered 400" in str(e.value)
    assert "blob unknown" in str(e.value)
    assert json.loads(oci.manifest)["schemaVersion"] == 2
