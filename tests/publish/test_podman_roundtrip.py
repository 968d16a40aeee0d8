"""Real images from Podman's store: its docker-archive export, pushed by pipeyard, pulled back by podman."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish import images as pub
from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard_kit.registry import RegistryClient, Target

pytestmark = [pytest.mark.images,
              pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")]


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def podman_engine(tmp_path: Path) -> Iterator:
    from pipeyard.images.containers import engine, podman_config

    root = tmp_path / "ct"
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    try:
        with engine(root, env=env) as eng:
            yield eng
    finally:
        subprocess.run(["podman", "system", "reset", "-f"], env={**os.environ, **podman_config(root).env()},
                       capture_output=True, timeout=120)


def build(client, app: bytes) -> None:
    context = tar_of({"Dockerfile": b"FROM localhost/pipeyard-test/base:1\nCOPY app.sh /usr/local/bin/app.sh\n",
                      "app.sh": app})
    client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=pub.local_ref("roundtrip"),
                        network_mode="host")


def test_publish_from_podman_and_pull_back(podman_engine, registry: LocalRegistry, tmp_path: Path) -> None:
    client = podman_engine.client
    answer = client.api.import_image_from_data(tar_of({"etc/greeting": b"hello\n"}))
    client.images.get(json.loads(answer.strip().splitlines()[-1])["status"]).tag("localhost/pipeyard-test/base", "1")
    build(client, b"echo v1\n")

    target = Target.parse(f"{registry.address}/pipeyard")
    images = [pub.LocalImage("roundtrip", pub.local_ref("roundtrip"))]
    cache = LayerCache(tmp_path / "cache")
    [first] = pub.publish_images(client, images, target, RegistryClient(registry.address, scheme="http"),
                                 ["1.0.0"], cache=cache, echo=lambda _: None)
    assert first.stats.uploaded == 3
    # Podman's image id is the digest of the config pipeyard pushed, so the cache keyed by it holds.
    local = client.images.get(pub.local_ref("roundtrip"))
    assert oci_image(local, cache).config.digest == local.id

    build(client, b"echo v2\n")
    before = registry.log_offset()
    [second] = pub.publish_images(client, images, target, RegistryClient(registry.address, scheme="http"),
                                  ["1.0.0"], cache=cache, echo=lambda _: None)
    assert registry.blob_uploads(since=before) == 2  # the changed layer and the config

    pulled = subprocess.run(["podman", "pull", "--tls-verify=false", f"{registry.address}/pipeyard/roundtrip:1.0.0"],
                            env={**os.environ, **podman_engine.podman_env()}, capture_output=True, text=True,
                            timeout=120)
    assert pulled.returncode == 0, pulled.stderr
    # Pulled back, it is the very image that was built: same config, so the same image id.
    assert client.images.get(f"{registry.address}/pipeyard/roundtrip:1.0.0").id == \
        client.images.get(pub.local_ref("roundtrip")).id
    assert second.digest != first.digest
