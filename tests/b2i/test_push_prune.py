"""`pipeyard b2i build --push` into a real registry, and `pipeyard b2i prune` there and on a loopback Harbor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry
from tests.fixtures import free_port

from ..publish.fake_harbor import FakeHarbor
from . import standins
from .conftest import b2i, build_app

PUSHED = re.compile(r"(\d+) blobs uploaded \(([\d.]+ [kM]B) of ([\d.]+ [kM]B)\)")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    with LocalRegistry(tmp_path_factory.mktemp("registry"), port=free_port()) as reg:
        yield reg


def tags(reg: LocalRegistry, app: str) -> list[str]:
    return sorted(requests.get(f"{reg.url}/v2/b2itest/b2i/{app}/tags/list", timeout=5).json()["tags"] or [])


@pytest.mark.images
def test_a_new_jar_pushes_only_the_app_layer_and_prune_keeps_the_running_tag(
        registry, base_image, spec_path, workdir: Path) -> None:
    target = f"{registry.address}/b2itest"
    refs = []
    pushes = []
    # Three builds of one app, each with a new jar whose dependencies did not change.
    for label in ("v1", "v2", "v3"):
        classes = standins.compile_all(workdir / f"rebuild-{label}", label)
        jar = standins.layered_jar(classes, workdir / f"rebuild-{label}" / "orders.jar")
        offset = registry.log_offset()
        result = build_app(spec_path, jar, "orders", "--push", "--registry", target)
        assert result.returncode == 0, result.stderr[-2000:]
        refs.append(result.stdout.split()[-1])
        m = PUSHED.search(result.stderr)
        assert m, result.stderr[-2000:]
        pushes.append((int(m.group(1)), registry.blob_uploads(offset)))
    # The first push uploads the whole image; each new jar only its application layer and the config.
    assert pushes[0][0] == pushes[0][1] > 2
    assert pushes[1] == (2, 2) and pushes[2] == (2, 2)

    again = build_app(spec_path, jar, "orders", "--push", "--registry", target)
    assert again.returncode == 0 and "nothing changed: 0 blobs uploaded" in again.stderr

    base = b2i("base", "--config", str(spec_path), "--push", "--registry", target)
    assert base.returncode == 0, base.stderr[-2000:]
    pushed = requests.get(f"{registry.url}/v2/b2itest/b2i-java/tags/list", timeout=5).json()["tags"]
    # Beside the variant tag: the OCI referrers fallback tag (sha256-<digest>) listing the base's SBOM.
    assert [t for t in pushed if not t.startswith("sha256-")] == ["21-trixie"]
    assert len(pushed) == 2

    v1, v2, v3 = (ref.rsplit(":", 1)[1] for ref in refs)
    assert tags(registry, "orders") == sorted([v1, v2, v3, "latest"])
    dry = b2i("prune", "--registry", target, "--keep", "1", "--running", v1, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == f"{target.split('/', 1)[1]}/b2i/orders: kept {v3}, latest, {v1}; would delete {v2}"
    assert tags(registry, "orders") == sorted([v1, v2, v3, "latest"])
    result = b2i("prune", "--registry", target, "--keep", "1", "--running", v1)
    assert result.returncode == 0, result.stderr
    assert f"deleted {v2}" in result.stdout
    assert tags(registry, "orders") == sorted([v1, v3, "latest"])


def test_prune_on_harbor_sets_retention_rules_for_b2i_and_keeps_other_rules(monkeypatch) -> None:
    with FakeHarbor() as harbor:
        project = harbor.add_project("apps")
        monkeypatch.setenv("HARBOR_USERNAME", "admin")
        monkeypatch.setenv("HARBOR_PASSWORD", "Harbor12345")
        other = {"disabled": False, "action": "retain", "template": "latestPushedK", "params": {"latestPushedK": 10},
                 "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
                 "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                     "pattern": "maven"}]}}
        first = b2i("prune", "--harbor", harbor.url, "--registry", "harbor.example.com/apps", "--keep", "3",
                    "--running", "a1b2c3d4e5f6")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == ("created the retention policy of apps: b2i/**: newest 3 pushed, "
                                        "always a1b2c3d4e5f6, latest")
        policy_id = int(harbor.projects["apps"]["metadata"]["retention_id"])
        policy = harbor.retentions[policy_id]
        assert policy["scope"] == {"level": "project", "ref": project["project_id"]}
        rules = {(r["template"], r["tag_selectors"][0]["pattern"], r["scope_selectors"]["repository"][0]["pattern"])
                 for r in policy["rules"]}
        assert rules == {("latestPushedK", "**", "b2i/**"), ("always", "{a1b2c3d4e5f6,latest}", "b2i/**")}

        harbor.retentions[policy_id]["rules"].append(other)
        writes = len(harbor.writes())
        second = b2i("prune", "--harbor", harbor.url, "--registry", "harbor.example.com/apps", "--keep", "3",
                     "--running", "a1b2c3d4e5f6")
        assert second.stdout.startswith("retention of apps unchanged") and len(harbor.writes()) == writes
        third = b2i("prune", "--harbor", harbor.url, "--registry", "harbor.example.com/apps", "--keep", "5")
        assert third.stdout.startswith("updated the retention policy of apps")
        templates = [(r["template"], r["scope_selectors"]["repository"][0]["pattern"])
                     for r in harbor.retentions[policy_id]["rules"]]
        assert ("latestPushedK", "maven") in templates, "rules for other repositories stay"
        assert [r["params"] for r in harbor.retentions[policy_id]["rules"] if r["template"] == "latestPushedK"
                and r["scope_selectors"]["repository"][0]["pattern"] == "b2i/**"] == [{"latestPushedK": 5}]


def test_prune_refuses_to_keep_nothing() -> None:
    result = b2i("prune", "--keep", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --keep 0 would delete every image: keep at least 1"


def test_prune_after_publish_keeps_publishs_retention_rules(monkeypatch, tmp_path: Path) -> None:
    """publish's rules name b2i/** too, as repoExcludes: prune replaces only its own (repoMatches) rules."""
    from pipeyard.publish.harbor import HarborClient, SecretSink, provision
    from pipeyard_kit.registry import Credentials

    with FakeHarbor() as harbor:
        provision(HarborClient(harbor.url, Credentials("admin", "Harbor12345")), "apps", SecretSink(tmp_path))
        policy_id = int(harbor.projects["apps"]["metadata"]["retention_id"])
        published = [dict(r) for r in harbor.retentions[policy_id]["rules"]]
        monkeypatch.setenv("HARBOR_USERNAME", "admin")
        monkeypatch.setenv("HARBOR_PASSWORD", "Harbor12345")
        result = b2i("prune", "--harbor", harbor.url, "--registry", "harbor.example.com/apps", "--keep", "3")
        assert result.returncode == 0, result.stderr
        rules = harbor.retentions[policy_id]["rules"]
        kept = [r for r in rules if r["scope_selectors"]["repository"][0]["decoration"] == "repoExcludes"]
        assert [(r["template"], r["tag_selectors"]) for r in kept] == [(r["template"], r["tag_selectors"])
                                                                       for r in published]
        assert len(rules) == len(published) + 2
