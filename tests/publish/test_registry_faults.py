"""The registry client against a real docker-registry behind a fault-injecting proxy: rate limits with
Retry-After, chunked uploads, and connections that die in the middle of a blob.

What the client relies on, from the OCI distribution spec (v1.1, spec.md "Pushing a blob in chunks",
"Pushing Blobs"; the registry here is Debian's docker-registry, distribution 2.x):
- a PATCH with `Content-Range: <start>-<end>` appends a chunk and answers 202 with the next Location and
  `Range: 0-<end>`; a chunk out of order answers 416;
- a GET on an upload's Location answers 204 with the Range the registry holds;
- distribution packs the offset into the Location's `_state`; a request with a Location whose offset
  is no longer the upload's size is refused and the upload cancelled (registry/handlers/blobupload.go,
  blobUploadDispatcher: "upload resumed at wrong offest"), which Debian's 2.8.2 answers with 404;
- a 429 (Too Many Requests, RFC 6585 section 4) and a 503 may carry Retry-After (RFC 9110 section
  10.2.3), in seconds or as an HTTP-date.
"""

from __future__ import annotations

import hashlib

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry import OciImage, push_image

from .conftest import client_for
from .imagefactory import FakeImage, noise
from .registry_proxy import RegistryProxy
from .test_push import REPO, build, tag_digest

CHUNK = 64 << 10


def largest(oci: OciImage):
    return max(oci.blobs, key=lambda b: b.size)


def pulled(registry: LocalRegistry, digest: str) -> bytes:
    r = requests.get(f"{registry.url}/v2/{REPO}/blobs/{digest}", timeout=10)
    r.raise_for_status()
    return r.content


def patches(proxy: RegistryProxy) -> list[int]:
    return [s for m, p, s in proxy.log if m == "PATCH"]


# -- Retry-After --------------------------------------------------------------------------------------
def test_a_429_is_retried_after_the_wait_its_retry_after_names(registry: LocalRegistry, proxy: RegistryProxy,
                                                               cache: LayerCache) -> None:
    proxy.fail("PUT", r"/blobs/uploads/", status=429, headers={"Retry-After": "1"})
    oci = build(cache)
    client = client_for(proxy)
    assert push_image(client, REPO, oci, ["1"]) == ["1"]
    assert client.stats.retries == 1
    puts = [(t, s) for (t, m, p), (_, _, s) in zip(proxy.arrivals, proxy.log) if m == "PUT" and "/blobs/" in p]
    refused = [t for t, s in puts if s == 429]
    assert len(refused) == 1
    # The tests' backoff is 0.01 s: only the registry's Retry-After accounts for the pause.
    retried = min(t for (t, m, p) in proxy.arrivals if t > refused[0] and m == "POST")
    assert retried - refused[0] >= 1.0
    assert tag_digest(registry, REPO, "1") == oci.digest


def test_a_503_with_an_http_date_retry_after_is_retried(registry: LocalRegistry, proxy: RegistryProxy,
                                                        cache: LayerCache) -> None:
    proxy.fail("HEAD", r"/blobs/", status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    oci = build(cache)
    client = client_for(proxy)
    assert push_image(client, REPO, oci, ["1"]) == ["1"]  # a date in the past: retry at once
    assert client.stats.retries == 1


def test_a_wait_longer_than_pipeyard_accepts_fails_at_once_saying_how_long(
        registry: LocalRegistry, proxy: RegistryProxy, cache: LayerCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEYARD_RETRY_AFTER_MAX", "5")
    proxy.fail("POST", r"/blobs/uploads/", status=429, headers={"Retry-After": "3600"}, times=None)
    client = client_for(proxy)
    with pytest.raises(RemoteError) as e:
        push_image(client, REPO, build(cache), ["1"])
    assert str(e.value).startswith(f"registry {proxy.address} asked to wait 3600 s before upload of ")
    assert "429" in str(e.value)
    assert "PIPEYARD_RETRY_AFTER_MAX (5 s)" in e.value.fix
    assert [s for m, p, s in proxy.log if m == "POST"] == [429], "no second attempt, no hour-long sleep"
    assert tag_digest(registry, REPO, "1") is None


def test_a_bad_retry_after_max_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeyard_kit.errors import ConfigError
    from pipeyard_kit.registry.retry import RetryPolicy

    monkeypatch.setenv("PIPEYARD_RETRY_AFTER_MAX", "-1")
    with pytest.raises(ConfigError) as e:
        RetryPolicy.from_env()
    assert "PIPEYARD_RETRY_AFTER_MAX" in str(e.value)


# -- chunks ---------------------------------------------------------------------------------------------
def test_a_blob_larger_than_the_chunk_size_goes_up_in_ordered_chunks(registry: LocalRegistry,
                                                                     proxy: RegistryProxy, cache: LayerCache) -> None:
    oci = build(cache)
    big = largest(oci)
    seen: dict[str, list[int]] = {}
    client = client_for(proxy, chunk_size=CHUNK, progress=lambda d, done, size: seen.setdefault(d, []).append(done))
    assert push_image(client, REPO, oci, ["1"]) == ["1"]
    chunks = -(-big.size // CHUNK)
    expected = [f"{i * CHUNK}-{min((i + 1) * CHUNK, big.size) - 1}" for i in range(chunks)]
    assert proxy.content_ranges == expected
    assert pulled(registry, big.digest) == big.open().read()
    assert tag_digest(registry, REPO, "1") == oci.digest
    # Progress for every blob, rising to its size.
    assert {d: v[-1] for d, v in seen.items()} == {b.digest: b.size for b in oci.blobs}
    assert all(a <= b for v in seen.values() for a, b in zip(v, v[1:]))


def test_a_connection_reset_mid_chunk_resumes_where_the_registry_copy_ends(registry: LocalRegistry,
                                                                           proxy: RegistryProxy,
                                                                           cache: LayerCache) -> None:
    oci = build(cache)
    big = largest(oci)
    proxy.fail("PATCH", r"/blobs/uploads/", reset="request", skip=1)
    client = client_for(proxy, chunk_size=CHUNK)
    assert push_image(client, REPO, oci, ["1"]) == ["1"]
    assert patches(proxy)[:2] == [202, 0]
    # The status GET says the registry holds the first chunk: the second is sent again, the first is not.
    assert [m for t, m, p in proxy.arrivals if "/blobs/uploads/" in p][:5] == ["POST", "PATCH", "PATCH", "GET",
                                                                             "PATCH"]
    assert proxy.content_ranges[:3] == [f"0-{CHUNK - 1}", f"{CHUNK}-{2 * CHUNK - 1}", f"{CHUNK}-{2 * CHUNK - 1}"]
    assert client.stats.retries == 1
    assert pulled(registry, big.digest) == big.open().read()
    assert hashlib.sha256(pulled(registry, big.digest)).hexdigest() == big.digest.removeprefix("sha256:")
    assert tag_digest(registry, REPO, "1") == oci.digest


def test_an_answer_lost_after_the_registry_took_the_chunk_starts_a_fresh_upload(registry: LocalRegistry,
                                                                                proxy: RegistryProxy,
                                                                                cache: LayerCache) -> None:
    # The registry appended the chunk, the client never heard: its Location is stale, which
    # distribution refuses and cancels. A fresh session from byte 0 is the only way on.
    oci = build(cache)
    big = largest(oci)
    proxy.fail("PATCH", r"/blobs/uploads/", reset="answer", skip=1)
    client = client_for(proxy, chunk_size=CHUNK)
    assert push_image(client, REPO, oci, ["1"]) == ["1"]
    status = [s for m, p, s in proxy.log if m == "GET" and "/blobs/uploads/" in p]
    assert status == [404]
    assert proxy.content_ranges.count(f"0-{CHUNK - 1}") == 2, "the big blob was sent again from byte 0"
    assert pulled(registry, big.digest) == big.open().read()
    assert tag_digest(registry, REPO, "1") == oci.digest


def test_a_503_with_retry_after_mid_chunk_resumes(registry: LocalRegistry, proxy: RegistryProxy,
                                                  cache: LayerCache) -> None:
    oci = build(cache)
    big = largest(oci)
    proxy.fail("PATCH", r"/blobs/uploads/", status=503, headers={"Retry-After": "0"}, skip=2, times=2)
    client = client_for(proxy, chunk_size=CHUNK)
    assert push_image(client, REPO, oci, ["1"]) == ["1"]
    assert patches(proxy)[:5] == [202, 202, 503, 503, 202]
    assert client.stats.retries == 2
    assert pulled(registry, big.digest) == big.open().read()


def test_a_5xx_that_persists_mid_chunked_push_never_tags_a_partial_image(registry: LocalRegistry,
                                                                         proxy: RegistryProxy,
                                                                         cache: LayerCache) -> None:
    old = build(cache)
    push_image(client_for(registry), REPO, old, ["1.0.0"])
    # A new image whose big layer is new too, so it goes up in chunks.
    fresh = oci_image(FakeImage([{"base.bin": noise("other base", 200_000)}, {"app.sh": b"echo v3\n"}],
                                "localhost/pipeyard/tool:2.0.0"), cache)
    proxy.fail("PATCH", r"/blobs/uploads/", status=500, skip=1, times=None)
    client = client_for(proxy, chunk_size=CHUNK)
    with pytest.raises(RemoteError) as e:
        push_image(client, REPO, fresh, ["1.0.0", "latest"])
    assert f"registry {proxy.address} kept failing with 500" in str(e.value)
    assert "no tag was moved to a partial image" in e.value.fix
    assert tag_digest(registry, REPO, "1.0.0") == old.digest
    assert tag_digest(registry, REPO, "latest") is None
    assert not [p for m, p, s in proxy.log if m == "PUT" and "/manifests/" in p]


def test_a_chunk_refused_as_out_of_order_resumes_from_what_the_registry_holds(registry: LocalRegistry,
                                                                              proxy: RegistryProxy,
                                                                              cache: LayerCache) -> None:
    oci = build(cache)
    big = largest(oci)
    proxy.fail("PATCH", r"/blobs/uploads/", status=416, skip=1)
    client = client_for(proxy, chunk_size=CHUNK)
    assert push_image(client, REPO, oci, ["1"]) == ["1"]
    assert patches(proxy)[:3] == [202, 416, 202]
    assert proxy.content_ranges[1] == proxy.content_ranges[2] == f"{CHUNK}-{2 * CHUNK - 1}"
    assert pulled(registry, big.digest) == big.open().read()


def test_a_chunk_refused_again_and_again_fails_instead_of_looping(registry: LocalRegistry, proxy: RegistryProxy,
                                                                  cache: LayerCache) -> None:
    proxy.fail("PATCH", r"/blobs/uploads/", status=416, skip=1, times=None)
    client = client_for(proxy, chunk_size=CHUNK)
    with pytest.raises(RemoteError) as e:
        push_image(client, REPO, build(cache), ["1"])
    assert f"refused the chunk at byte {CHUNK} of upload of " in str(e.value) and "twice (416)" in str(e.value)
    assert patches(proxy) == [202, 416, 416]
    assert tag_digest(registry, REPO, "1") is None
