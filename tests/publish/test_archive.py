"""docker-archive -> OCI: deterministic layers, cached by diff_id, no re-export when nothing changed."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard_kit.errors import BuildError
from pipeyard_kit.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST

from .imagefactory import FakeImage, noise


def image(app: bytes = b"echo hello\n") -> FakeImage:
    return FakeImage([{"usr/lib/base.bin": noise("base", 50_000)}, {"usr/bin/app": app}], "localhost/pipeyard/t:1")


def test_manifest_is_oci_with_gzip_layers_and_the_original_config(cache: LayerCache) -> None:
    img = image()
    oci = oci_image(img, cache)
    manifest = json.loads(oci.manifest)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"] == {"mediaType": OCI_CONFIG, "digest": img.id, "size": len(img.config)}
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_GZIP] * 2
    for blob, tar in zip(oci.layers, img.layer_tars, strict=True):
        data = blob.open().read()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest
        assert gzip.decompress(data) == tar
        assert data[4:8] == b"\0\0\0\0", "gzip mtime must be 0"


def test_conversion_is_deterministic_across_caches(tmp_path: Path) -> None:
    a = oci_image(image(), LayerCache(tmp_path / "a"))
    b = oci_image(image(), LayerCache(tmp_path / "b"))
    assert a.manifest == b.manifest
    assert a.digest == b.digest


def test_an_unchanged_image_is_neither_exported_nor_recompressed(cache: LayerCache) -> None:
    img = image()
    first = oci_image(img, cache)
    assert (img.saves, cache.compressed) == (1, 2)
    again = oci_image(img, cache)
    assert (img.saves, cache.compressed) == (1, 2)
    assert again.digest == first.digest


def test_a_one_line_change_recompresses_only_that_layer(cache: LayerCache) -> None:
    first = oci_image(image(), cache)
    changed = image(b"echo hello, world\n")
    second = oci_image(changed, cache)
    assert changed.saves == 1
    assert cache.compressed == 3  # base reused from the cache; only the app layer is new
    assert second.layers[0] == first.layers[0]
    assert second.layers[1].digest != first.layers[1].digest


def test_a_layer_that_does_not_match_its_diff_id_is_refused(cache: LayerCache) -> None:
    img = image()
    img.layer_tars[1] = b"tampered" + img.layer_tars[1][8:]
    with pytest.raises(BuildError) as e:
        oci_image(img, cache)
    assert "does not match its diff_id" in str(e.value) and "expected sha256:" in str(e.value)
