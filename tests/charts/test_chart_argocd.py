"""The ArgoCD objects `pipeyard chart init` writes, validated against ArgoCD's own CRD schemas (v3.5.1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from pipeyard_kit.configrepo import read_sources, sources_in

from .argocd_schema import problems
from .conftest import REPO_URL, init

ENVIRONMENTS = ("dev", "test", "prod")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("image", ["harbor.example.com/shop/orders:1.4.2", "harbor.example.com/shop/orders"],
                         ids=["pinned", "unpinned"])
def test_every_application_validates_against_the_crd(tmp_path: Path, image: str):
    init(tmp_path, "orders", "--argocd-project", "shop", image=image)
    for env in ENVIRONMENTS:
        application = load(tmp_path / "argocd" / env / "orders.yaml")
        assert problems(application) == []
        automated = "automated" in application["spec"]["syncPolicy"]
        assert automated == image.endswith(":1.4.2")
        if not automated:
            assert application["metadata"]["annotations"]["pipeyard.dev/sync"] == "after-first-bump"
    assert problems(load(tmp_path / "argocd" / "projects" / "shop.yaml")) == []


def test_the_validator_refuses_what_the_api_server_would(tmp_path: Path):
    init(tmp_path, "orders")
    application = load(tmp_path / "argocd" / "dev" / "orders.yaml")
    application["spec"]["syncPolicy"]["automated"]["prune"] = "yes"
    application["spec"]["sourcez"] = {}
    application["spec"]["source"].pop("repoURL")
    application["metadata"]["labels"]["pipeyard.dev/environment"] = "not a label value"
    found = problems(application)
    assert any(p.startswith("spec.syncPolicy.automated.prune: 'yes' is not of type 'boolean'") for p in found)
    assert any("'sourcez' was unexpected" in p for p in found)
    assert any(p.startswith("spec.source: 'repoURL' is a required property") for p in found)
    assert any(p.startswith("metadata.labels.pipeyard.dev/environment") for p in found)


def test_an_applicationset_and_its_appproject_validate_and_generate_every_environment(tmp_path: Path):
    result = init(tmp_path, "orders", "--applicationset", "--pull-secret", "harbor-pull")
    assert "point the app-of-apps at argocd/applicationsets" in result.stdout
    assert not (tmp_path / "argocd" / "dev").exists()
    appset = load(tmp_path / "argocd" / "applicationsets" / "orders.yaml")
    assert problems(appset) == []
    assert appset["spec"]["goTemplate"] is True and appset["spec"]["syncPolicy"] == {
        "preserveResourcesOnDeletion": True}
    project = load(tmp_path / "argocd" / "projects" / "orders.yaml")
    assert problems(project) == []
    assert appset["spec"]["template"]["spec"]["project"] == project["metadata"]["name"] == "orders"

    # What the list generator makes of the template: one Application per environment, each valid too.
    sources = {s.env: s for s in sources_in(appset, "argocd/applicationsets/orders.yaml")}
    assert set(sources) == set(ENVIRONMENTS)
    assert sources["prod"].revision == "deploy/prod" and sources["prod"].protected
    assert sources["dev"].revision == "HEAD" and not sources["dev"].protected
    assert all(s.automated and s.value_files == (f"values-{s.env}.yaml",) for s in sources.values())
    assert {s.env: s.namespace for s in sources.values()} == {e: e for e in ENVIRONMENTS}
    assert read_sources(tmp_path) == list(sources_in(appset, "argocd/applicationsets/orders.yaml"))
    text = (tmp_path / "argocd" / "applicationsets" / "orders.yaml").read_text()
    assert "sync this folder from deploy/prod" in text


def test_the_appproject_limits_sources_destinations_and_kinds(tmp_path: Path):
    init(tmp_path, "orders", "--argocd-project", "shop")
    init(tmp_path, "billing", "--argocd-project", "shop", "--namespace", "{app}-{env}",
         image="harbor.example.com/shop/billing:2.0.0")
    project = load(tmp_path / "argocd" / "projects" / "shop.yaml")
    assert problems(project) == []
    spec = project["spec"]
    assert spec["sourceRepos"] == [REPO_URL]
    namespaces = sorted([*ENVIRONMENTS, *(f"billing-{e}" for e in ENVIRONMENTS)])
    assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": ns} for ns in namespaces]
    # Cluster-wide, the apps may create their own namespaces and nothing else.
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace", "name": ns} for ns in namespaces]
    kinds = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    assert ("apps", "Deployment") in kinds and ("policy", "PodDisruptionBudget") in kinds
    assert not any(k == "*" for _, k in kinds)
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path / "argocd" / "projects")], capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(built.stdout) if d] == ["shop"]


def test_the_kit_reads_the_applications_as_chart_init_wrote_them(tmp_path: Path):
    init(tmp_path, "orders", "--protected-environments", "test,prod", image="harbor.example.com/shop/orders")
    sources = {s.env: s for s in read_sources(tmp_path)}
    assert {e: (s.branch("main"), s.protected) for e, s in sources.items()} == {
        "dev": ("main", False), "test": ("deploy/test", True), "prod": ("deploy/prod", True)}
    assert all(s.waiting_for_first_bump and not s.automated for s in sources.values())
    assert sources["dev"].file == "argocd/dev/orders.yaml" and sources["dev"].path == "apps/orders"
