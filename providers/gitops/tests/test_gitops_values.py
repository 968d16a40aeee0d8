"""The values-file edit, image references and the CA bundle: exact expectations, no servers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeyard_gitops.values import set_image
from pipeyard_kit.errors import ConfigError, UsageError
from pipeyard_kit.refs import ImageRef, check_repository, parse_image
from pipeyard_kit.trust import bundle_file
from tests.servers.tls import self_signed

DIGEST = "sha256:" + "a" * 64

HAND_WRITTEN = """\
# orders in dev, edited by people
replicaCount: 1   # keep it small
image:
  # where the cluster pulls from
  repository: harbor.example.com/shop/orders
  tag: "1.0"   # bumped by CI
  pullPolicy: IfNotPresent
tracing:
  enabled: true
  collector: oap.observability:11800
"""


def test_parse_image_keeps_the_repository_as_written():
    ref = parse_image(f"harbor.example.com:8443/shop/orders:1.4.2@{DIGEST}")
    assert ref == ImageRef("harbor.example.com:8443/shop/orders", "1.4.2", DIGEST)
    assert parse_image("127.0.0.1:5000/orders:v2") == ImageRef("127.0.0.1:5000/orders", "v2", "")


@pytest.mark.parametrize("text, says", [
    ("harbor.example.com/shop/orders", "has no tag"),
    (f"harbor.example.com/shop/orders@{DIGEST}", "has no tag"),
    ("harbor.example.com/Shop/orders:1", "not a valid image reference"),
    ("harbor.example.com/shop/orders:1@sha256:abc", "not a valid image reference"),
    ("harbor.example.com/shop/orders:bad tag", "not a valid image reference"),
    ("", "not a valid image reference"),
])
def test_parse_image_rejects_bad_references(text, says):
    with pytest.raises(UsageError) as err:
        parse_image(text)
    assert says in str(err.value)
    assert "GITOPS_IMAGE" in str(err.value)


def test_check_repository_wants_a_registry_and_no_tag():
    assert check_repository("harbor.example.com/shop/orders") == "harbor.example.com/shop/orders"
    with pytest.raises(UsageError, match="not an image repository"):
        check_repository("harbor.example.com/shop/orders:1.0")
    with pytest.raises(UsageError, match="names no registry host"):
        check_repository("shop/orders")


def test_set_image_changes_only_tag_and_digest_and_keeps_comments():
    edit = set_image(HAND_WRITTEN, parse_image(f"harbor.example.com/shop/orders:1.10@{DIGEST}"), where="v.yaml")
    assert edit.changed and edit.old_tag == "1.0" and edit.old_digest == ""
    expected = HAND_WRITTEN.replace('  tag: "1.0"   # bumped by CI\n',
                                    f'  tag: "1.10"   # bumped by CI\n  digest: "{DIGEST}"\n')
    assert edit.text == expected
    # Quoted, so 1.10 stays the string "1.10" instead of the float 1.1.
    assert yaml.safe_load(edit.text)["image"]["tag"] == "1.10"


def test_set_image_replaces_an_existing_digest_and_clears_it_without_one():
    first = set_image(HAND_WRITTEN, parse_image(f"harbor.example.com/shop/orders:2.0@{DIGEST}"), where="v.yaml")
    second = set_image(first.text, parse_image("harbor.example.com/shop/orders:2.1"), where="v.yaml")
    assert second.old_digest == DIGEST
    assert yaml.safe_load(second.text)["image"] == {"repository": "harbor.example.com/shop/orders", "tag": "2.1",
                                                    "digest": "", "pullPolicy": "IfNotPresent"}
    assert second.text.count("digest:") == 1


def test_set_image_is_a_no_op_for_what_is_already_there():
    ref = parse_image(f"harbor.example.com/shop/orders:2.0@{DIGEST}")
    once = set_image(HAND_WRITTEN, ref, where="v.yaml")
    again = set_image(once.text, ref, where="v.yaml")
    assert not again.changed
    assert again.text == once.text


@pytest.mark.parametrize("text, says", [
    ("replicaCount: 1\n", "has no image.tag key"),
    ("image:\n  repository: harbor.example.com/shop/orders\n", "has no image.tag key"),
    ("image: {repository: x, tag: '0.9'}\n", "written on one line"),
    ("image:\n  tag: [1\n", "not valid YAML"),
])
def test_set_image_names_the_file_and_the_missing_key(text, says):
    with pytest.raises(ConfigError) as err:
        set_image(text, parse_image("harbor.example.com/shop/orders:1"), where="apps/orders/values-dev.yaml")
    assert says in str(err.value)
    assert "apps/orders/values-dev.yaml" in str(err.value)


def test_custom_ca_certs_are_added_to_the_system_bundle(tmp_path):
    cert, _key = self_signed(tmp_path)
    PEM = cert.read_text()
    env = {"PIPEYARD_CA_DIR": str(tmp_path / "ca")}
    from_text = Path(bundle_file(PEM, env)).read_text()
    assert from_text.endswith(PEM) and from_text.count("BEGIN CERTIFICATE") > 1
    pem_file = tmp_path / "company.pem"
    pem_file.write_text(PEM)
    assert Path(bundle_file(str(pem_file), env)).read_text() == from_text
    assert bundle_file("", env) is None
    with pytest.raises(ConfigError, match="is neither PEM text nor an existing file"):
        bundle_file(str(tmp_path / "missing.pem"), env)
