"""The values-file edit, the order of images, Helm's merge and the CA bundle: exact expectations, no servers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeyard_gitops.order import Pin, Version, compare
from pipeyard_gitops.values import deployed, pin_image
from pipeyard_gitops.yamledit import Document, Editor
from pipeyard_kit.configrepo import helm_merge
from pipeyard_kit.errors import ConfigError, UsageError
from pipeyard_kit.refs import ImageRef, check_repository, parse_image
from pipeyard_kit.trust import bundle_file
from tests.servers.tls import self_signed

DIGEST = "sha256:" + "a" * 64
WHERE = "apps/orders/values-dev.yaml"

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


def pin(text: str, image: str, *, pipeline: int | None = None, repository: str | None = None) -> str:
    return pin_image(Document(text, where=WHERE), parse_image(image), pipeline=pipeline, repository=repository)


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


# --- the edit ---------------------------------------------------------------------------------------------
def test_pinning_changes_only_tag_digest_and_pipeline_and_keeps_comments():
    text = pin(HAND_WRITTEN, f"harbor.example.com/shop/orders:1.10@{DIGEST}", pipeline=118)
    expected = HAND_WRITTEN.replace('  tag: "1.0"   # bumped by CI\n',
                                   f'  tag: "1.10"   # bumped by CI\n  digest: "{DIGEST}"\n  pipeline: 118\n')
    assert text == expected
    # Quoted, so 1.10 stays the string "1.10" instead of the float 1.1.
    assert yaml.safe_load(text)["image"]["tag"] == "1.10"


def test_pinning_replaces_digest_and_pipeline_in_place_and_clears_them_without():
    first = pin(HAND_WRITTEN, f"harbor.example.com/shop/orders:2.0@{DIGEST}", pipeline=7)
    second = pin(first, "harbor.example.com/shop/orders:2.1")
    assert yaml.safe_load(second)["image"] == {"repository": "harbor.example.com/shop/orders", "tag": "2.1",
                                               "digest": "", "pipeline": None, "pullPolicy": "IfNotPresent"}
    assert second.count("digest:") == 1 and second.count("pipeline:") == 1
    # No recorded pipeline and none given: no key is added.
    assert "pipeline" not in pin(HAND_WRITTEN, "harbor.example.com/shop/orders:3.0")


def test_switching_the_repository_writes_it_in_place():
    text = pin(HAND_WRITTEN, "harbor.example.com/team/orders:2.0", repository="harbor.example.com/team/orders")
    assert "  repository: \"harbor.example.com/team/orders\"\n  tag: \"2.0\"" in text
    env_only = pin('image:\n  tag: "1"\n  digest: ""\n', "harbor.example.com/team/orders:2.0",
                   repository="harbor.example.com/team/orders")
    assert env_only == 'image:\n  repository: "harbor.example.com/team/orders"\n  tag: "2.0"\n  digest: ""\n'


def test_windows_line_endings_and_a_missing_final_newline_survive():
    text = pin('image:\r\n  tag: "1"\r\n  digest: ""', f"harbor.example.com/shop/orders:2@{DIGEST}", pipeline=3)
    assert text == f'image:\r\n  tag: "2"\r\n  digest: "{DIGEST}"\r\n  pipeline: 3\r\n'


@pytest.mark.parametrize("text, line, says, fix", [
    ('defaults: &v "1.0"\nimage:\n  tag: *v\n', 3, "image.tag is the alias *v", "write image.tag out"),
    ('image:\n  tag: &v "1.0"\n  digest: ""\nother: *v\n', 2, "image.tag carries the anchor &v", "remove &v"),
    ("image:\n  tag: |\n    1.0\n  digest: ''\n", 2, "image.tag is a block scalar (|)", "write it on one line"),
    ("image:\n  tag: >-\n    1.0\n", 2, "image.tag is a block scalar (>)", "write it on one line"),
    ("base: &img\n  tag: '1'\nimage: *img\n", 3, "image is the alias *img", "write image out"),
    ("base: &img\n  tag: '1'\nimage:\n  <<: *img\n  digest: ''\n", 4, "image takes its keys from a YAML merge key",
     "without << and aliases"),
    ("image: &img\n  tag: '1'\n", 1, "image carries the anchor &img", "remove &img"),
    ("image:\n  tag: 1.0\n    continued\n", 2, "image.tag runs over several lines", "write it on one line"),
    ("image: {repository: x, tag: '0.9'}\n", 1, "image is written on one line", "write image: as a block"),
])
def test_yaml_that_cannot_be_edited_safely_names_the_line_and_the_change(text, line, says, fix):
    with pytest.raises(ConfigError) as err:
        pin(text, f"harbor.example.com/shop/orders:2.0@{DIGEST}")
    message = str(err.value)
    assert f"{WHERE} line {line}: {says}" in message and fix in message, message


@pytest.mark.parametrize("text, says", [
    ("replicaCount: 1\n", "has no image.tag key"),
    ("image:\n  repository: harbor.example.com/shop/orders\n", "has no image.tag key"),
    ("image: harbor.example.com/shop/orders:1\n", "image: is not a block of keys"),
    ("image:\n  tag: [1\n", ":3:1: not valid YAML (expected ',' or ']'"),
])
def test_a_values_file_without_an_image_block_names_the_file(text, says):
    with pytest.raises(ConfigError) as err:
        pin(text, "harbor.example.com/shop/orders:1")
    assert says in str(err.value) and WHERE in str(err.value)


def test_the_editor_adds_a_block_before_the_first_key_of_a_mapping():
    text = ("spec:\n  syncPolicy:\n    syncOptions:\n      - CreateNamespace=true\n"
            "metadata:\n  annotations:\n    pipeyard.dev/sync: after-first-bump\n")
    doc = Document(text, where="argocd/dev/orders.yaml")
    edit = Editor(doc)
    edit.add_block(("spec", "syncPolicy", "automated"), ["automated:", "  prune: true", "  selfHeal: true"],
                   {"prune": True, "selfHeal": True}, before=("spec", "syncPolicy", "syncOptions"))
    edit.set(("metadata", "annotations", "pipeyard.dev/sync"), "automated")
    assert edit.apply() == ("spec:\n  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n"
                            "    syncOptions:\n      - CreateNamespace=true\n"
                            'metadata:\n  annotations:\n    pipeyard.dev/sync: "automated"\n')


# --- what is deployed ---------------------------------------------------------------------------------------
def test_helm_merge_overrides_maps_key_by_key_and_null_deletes():
    base = {"image": {"repository": "r", "tag": "", "pullPolicy": "IfNotPresent"}, "replicaCount": 1, "x": [1]}
    assert helm_merge(base, {"image": {"tag": "1.0", "pullPolicy": None}, "x": [2]}) == {
        "image": {"repository": "r", "tag": "1.0"}, "replicaCount": 1, "x": [2]}


def test_the_deployed_repository_comes_from_values_yaml_unless_the_environment_sets_one():
    base = {"image": {"repository": "harbor.example.com/shop/orders", "tag": ""}}
    now = deployed(base, {"image": {"tag": "1.4.0", "pipeline": "12"}}, base_file="v.yaml", env_file="v-dev.yaml")
    assert (now.repository, now.repository_from, now.pin) == ("harbor.example.com/shop/orders", "v.yaml",
                                                              Pin("1.4.0", "", 12))
    moved = deployed(base, {"image": {"repository": "h.example.com/x/y", "tag": "1"}}, base_file="v.yaml",
                     env_file="v-dev.yaml")
    assert (moved.repository, moved.repository_from) == ("h.example.com/x/y", "v-dev.yaml")


# --- the order of images -------------------------------------------------------------------------------------
@pytest.mark.parametrize("older, newer", [
    ("1.4.9", "1.5.0"), ("1.9.0", "1.10.0"), ("v1.2", "v1.2.1"), ("1.0.0-rc.1", "1.0.0"),
    ("1.0.0-alpha", "1.0.0-alpha.1"), ("1.0.0-alpha.1", "1.0.0-alpha.beta"), ("1.0.0-beta.2", "1.0.0-beta.11"),
    ("2024.1.5", "2024.1.12"),
])
def test_semantic_versions_order_by_precedence(older, newer):
    assert compare(Pin(older), Pin(newer)).order == 1
    assert compare(Pin(newer), Pin(older)) .order == -1
    assert compare(Pin(newer), Pin(older)).by == "version"


def test_tags_that_are_not_versions_order_by_the_pipeline_that_built_them():
    assert compare(Pin("a1b2c3d", pipeline=12), Pin("0f9e8d7", pipeline=13)).order == 1
    assert compare(Pin("a1b2c3d", pipeline=12), Pin("0f9e8d7", pipeline=11)).order == -1
    # A bare number is a commit hash made of digits as often as it is a version: the pipeline decides.
    assert compare(Pin("20240105", pipeline=9), Pin("1234567", pipeline=10)).by == "pipeline"
    # Prereleases of one version that only carry a commit say nothing about order either.
    assert compare(Pin("1.4.2-fff", pipeline=5), Pin("1.4.2-aaa", pipeline=6)).order == 1
    # Without a pipeline on both sides, nothing can be said; the first pin always goes.
    assert compare(Pin("a1b2c3d"), Pin("0f9e8d7", pipeline=3)).by == "unknown"
    assert compare(Pin(""), Pin("0f9e8d7")).by == "first"
    assert compare(Pin("1.0", DIGEST), Pin("1.0", DIGEST, 4)).by == "image"


def test_version_parsing_takes_major_minor_at_least():
    assert Version.parse("1.2") == Version((1, 2, 0), None)
    assert Version.parse("v1.2.3-rc.1") == Version((1, 2, 3), (("rc", 1)))
    assert Version.parse("12345678") is None and Version.parse("latest") is None


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


def test_a_pin_by_digest_alone_is_ordered_by_pipeline():
    assert compare(Pin("", DIGEST, 5), Pin("", "sha256:" + "b" * 64, 4)).order == -1
    assert compare(Pin("", DIGEST), Pin("1.0.0")).by == "unknown"
