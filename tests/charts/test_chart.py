"""`pipeyard chart init`: what it writes, rendered by the real Helm and validated against Kubernetes 1.33 and 1.35."""

from __future__ import annotations

import glob
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.fixtures import ROOT, run_cli

from .conftest import (
    KUBERNETES_VERSIONS,
    REPO_URL,
    chart,
    helm_lint,
    helm_template,
    init,
    kubernetes_validate,
    objects,
)
from .pss import restricted_violations

ENVIRONMENTS = ("dev", "test", "prod")
DIGEST = "sha256:" + "5" * 64


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("config")
    init(root, "orders", "--ingress-domain", "apps.example.com", "--timezone", "Asia/Shanghai",
         "--pull-secret", "harbor-pull", image=f"harbor.example.com/shop/orders:1.4.2@{DIGEST}")
    return root


def test_init_writes_chart_values_and_applications(config_dir: Path):
    app = config_dir / "apps" / "orders"
    for rel in ("Chart.yaml", "values.yaml", ".helmignore", "templates/deployment.yaml", "templates/service.yaml",
                "templates/ingress.yaml", "templates/configmap.yaml", "templates/_helpers.tpl",
                "templates/serviceaccount.yaml", "templates/poddisruptionbudget.yaml", "templates/networkpolicy.yaml",
                "templates/servicemonitor.yaml", "templates/horizontalpodautoscaler.yaml"):
        assert (app / rel).is_file(), rel
    base = yaml.safe_load((app / "values.yaml").read_text())
    assert base["image"] == {"repository": "harbor.example.com/shop/orders", "tag": "", "digest": "",
                             "pullPolicy": "IfNotPresent"}
    assert base["imagePullSecrets"] == [{"name": "harbor-pull"}]
    for env in ENVIRONMENTS:
        values = yaml.safe_load((app / f"values-{env}.yaml").read_text())
        # Pinned from the first commit, in the keys gitops-bump rewrites.
        assert values["image"] == {"tag": "1.4.2", "digest": DIGEST}
        application = yaml.safe_load((config_dir / "argocd" / env / "orders.yaml").read_text())
        assert application["kind"] == "Application"
        revision = "deploy/prod" if env == "prod" else "HEAD"
        assert application["spec"]["source"] == {
            "repoURL": REPO_URL, "targetRevision": revision, "path": "apps/orders",
            "helm": {"releaseName": "orders", "valueFiles": [f"values-{env}.yaml"]}}
        assert application["spec"]["destination"]["namespace"] == env
        assert application["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert application["metadata"]["labels"]["pipeyard.dev/protected"] == ("true" if env == "prod" else "false")
    assert yaml.safe_load((app / "Chart.yaml").read_text())["name"] == "orders"


def test_the_protected_application_says_which_gitlab_protections_to_set(config_dir: Path):
    text = (config_dir / "argocd" / "prod" / "orders.yaml").read_text()
    assert "# prod is protected: ArgoCD syncs it from deploy/prod, which changes only by merge request." in text
    annotation = yaml.safe_load(text)["metadata"]["annotations"]["pipeyard.dev/gitlab-protection"]
    for setting in ("protect branch deploy/prod", "Allowed to merge: Maintainers", "Allowed to push and merge: No one",
                    "Allowed to force push: off", "require approval"):
        assert setting in annotation and setting in text


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_lints_renders_and_validates(helm: Path, config_dir: Path, tmp_path: Path, env: str,
                                                       version: str):
    chart_dir = config_dir / "apps" / "orders"
    values = str(chart_dir / f"values-{env}.yaml")
    lint = helm_lint(helm, chart_dir, "-f", values)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = helm_template(helm, chart_dir, "-f", values, "--namespace", env)
    assert rendered.returncode == 0, rendered.stderr
    out = tmp_path / f"{env}.yaml"
    out.write_text(rendered.stdout)
    checked = kubernetes_validate(out, version)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"passed for resource deployment/orders against version {version.rsplit('.', 1)[0]}" in checked.stdout

    found = objects(rendered.stdout)
    replicated = env == "prod"
    expected = {"Deployment", "Service", "Ingress", "ServiceAccount", "NetworkPolicy"}
    assert set(found) == expected | ({"PodDisruptionBudget"} if replicated else set())
    assert restricted_violations(found["Deployment"]) == []
    deployment = found["Deployment"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == (2 if replicated else 1)
    assert container["image"] == f"harbor.example.com/shop/orders:1.4.2@{DIGEST}"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9404"
    env_vars = {e["name"]: e.get("value") for e in container["env"]}
    assert env_vars["TZ"] == "Asia/Shanghai"
    assert env_vars["B2I_TRACING"] == "off" and env_vars["B2I_APP_PORT"] == "8080"
    assert "SW_AGENT_COLLECTOR_BACKEND_SERVICES" not in env_vars
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "http"
    host = "orders.apps.example.com" if env == "prod" else f"orders.{env}.apps.example.com"
    assert found["Ingress"]["spec"]["rules"][0]["host"] == host


def test_switches_config_and_secret_references_render_and_validate(helm: Path, config_dir: Path, tmp_path: Path):
    chart_dir = config_dir / "apps" / "orders"
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump({
        "tracing": {"enabled": True, "collector": "oap.observability:11800"},
        "metrics": {"enabled": False},
        "javaOpts": "-XX:+UseG1GC",
        "config": {"SPRING_PROFILES_ACTIVE": "prod", "FEATURE_X": True},
        "secrets": {"envFrom": ["orders-env"], "env": {"DB_PASSWORD": {"name": "orders-db", "key": "password"}}},
        "probes": {"liveness": {"path": ""}},
        "ingress": {"enabled": False},
    }))
    rendered = helm_template(helm, chart_dir, "-f", str(chart_dir / "values-prod.yaml"), "-f", str(overrides))
    assert rendered.returncode == 0, rendered.stderr
    out = tmp_path / "all.yaml"
    out.write_text(rendered.stdout)
    for version in KUBERNETES_VERSIONS:
        checked = kubernetes_validate(out, version)
        assert checked.returncode == 0, checked.stdout + checked.stderr

    found = objects(rendered.stdout)
    assert "Ingress" not in found and "ConfigMap" in found
    assert found["ConfigMap"]["data"] == {"FEATURE_X": "true", "SPRING_PROFILES_ACTIVE": "prod"}
    pod = found["Deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    env_vars = {e["name"]: e for e in container["env"]}
    assert env_vars["B2I_TRACING"]["value"] == "on"
    assert env_vars["SW_AGENT_NAME"]["value"] == "orders"
    assert env_vars["SW_AGENT_COLLECTOR_BACKEND_SERVICES"]["value"] == "oap.observability:11800"
    # The agent's own log folder is on the read-only root file system: it logs to the console instead.
    assert env_vars["SW_LOGGING_OUTPUT"]["value"] == "CONSOLE"
    assert env_vars["B2I_METRICS"]["value"] == "off"
    assert env_vars["JAVA_OPTS"]["value"] == "-XX:+UseG1GC"
    assert env_vars["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "orders-db", "key": "password"}}
    assert container["envFrom"] == [{"configMapRef": {"name": "orders"}}, {"secretRef": {"name": "orders-env"}}]
    assert "prometheus.io/scrape" not in pod["metadata"]["annotations"]
    assert [p["name"] for p in container["ports"]] == ["http"]
    assert [p["name"] for p in found["Service"]["spec"]["ports"]] == ["http"]
    assert [r["ports"][0]["port"] for r in found["NetworkPolicy"]["spec"]["ingress"]] == ["http"]
    assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}


def test_tracing_without_a_collector_fails_with_the_fix(helm: Path, config_dir: Path):
    rendered = helm_template(helm, config_dir / "apps" / "orders", "-f",
                             str(config_dir / "apps" / "orders" / "values-dev.yaml"), "--set", "tracing.enabled=true")
    assert rendered.returncode != 0
    assert "tracing.collector is empty: set it to the SkyWalking OAP host:port" in rendered.stderr


def test_kustomize_builds_every_environment_with_all_apps(tmp_path: Path):
    for app in ("orders", "billing"):
        init(tmp_path, app, "--namespace", "{app}-{env}", image=f"harbor.example.com/shop/{app}:1.0.0")
    for env in ENVIRONMENTS:
        built = subprocess.run(["kubectl", "kustomize", str(tmp_path / "argocd" / env)], capture_output=True,
                               text=True, timeout=120)
        assert built.returncode == 0, built.stderr
        apps = {d["metadata"]["name"]: d for d in yaml.safe_load_all(built.stdout) if d}
        assert set(apps) == {f"orders-{env}", f"billing-{env}"}
        assert apps[f"billing-{env}"]["spec"]["destination"]["namespace"] == f"billing-{env}"
        for app in ("orders", "billing"):
            values_file = apps[f"{app}-{env}"]["spec"]["source"]["helm"]["valueFiles"][0]
            assert (tmp_path / "apps" / app / values_file).is_file()


def test_repo_url_defaults_to_the_clones_origin_without_credentials(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin",
                    "https://bot:hunter2@gitlab.example.com/platform/config.git"], check=True)
    result = chart("init", "orders", "--image", "harbor.example.com/shop/orders:1.0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    application = yaml.safe_load((tmp_path / "argocd" / "dev" / "orders.yaml").read_text())
    assert application["spec"]["source"]["repoURL"] == REPO_URL


@pytest.mark.parametrize("args, says", [
    (["orders", "--image", "harbor.example.com/shop/orders:bad tag"], "is not an image repository"),
    (["orders", "--image", "orders:1.0"], "names no registry host"),
    (["orders", "--image", "harbor.example.com/shop/orders:1.0@sha256:beef"], "is not an image repository"),
    (["Orders_App", "--image", "harbor.example.com/shop/orders"], "is not a valid app name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--namespace", "{team}-{env}"], "unknown placeholder"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--namespace", "Team_{env}"],
     "gives Team_dev, Team_prod, Team_test, not a namespace name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--namespace", "{app}-" + "x" * 60],
     "not a namespace name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--timezone", "../etc"], "is not a time zone name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--timezone", "Mars/Olympus_Mons"],
     "'Mars/Olympus_Mons' is not a time zone name: use one of the IANA database"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--environments", "dev,../x"],
     "is not a list of environment names"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--protected-environments", "live"],
     "names live, which --environments does not list"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--protected-branch", "main", "--revision", "main"],
     "the branch the other environments track"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--protected-branch", "deploy/../{env}"],
     "not a branch name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--environments", "dev,qa,prod",
      "--protected-environments", "qa,prod", "--protected-branch", "release"], "include {env}"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--argocd-namespace", "Argo CD"],
     "--argocd-namespace 'Argo CD' is not a namespace name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--pull-secret", "Harbor Robot"], "is not a Secret name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--applicationset"], "--applicationset needs --image"),
])
def test_init_rejects_bad_input_with_one_message(tmp_path: Path, args, says):
    result = chart("init", *args, "--config-repo", str(tmp_path), "--repo-url", REPO_URL)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and says in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "apps").exists()


def test_valid_time_zones_and_namespaces_pass(tmp_path: Path):
    init(tmp_path, "orders", "--timezone", "America/Argentina/Buenos_Aires", "--namespace", "shop-{app}-{env}")
    values = yaml.safe_load((tmp_path / "apps" / "orders" / "values.yaml").read_text())
    assert values["timezone"] == "America/Argentina/Buenos_Aires"
    application = yaml.safe_load((tmp_path / "argocd" / "test" / "orders.yaml").read_text())
    assert application["spec"]["destination"]["namespace"] == "shop-orders-test"


def test_init_refuses_to_overwrite_an_app_without_force(tmp_path: Path):
    args = ("init", "orders", "--image", "harbor.example.com/shop/orders:1.0", "--config-repo", str(tmp_path),
            "--repo-url", REPO_URL)
    assert chart(*args).returncode == 0
    values = tmp_path / "apps" / "orders" / "values-dev.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1", "replicaCount: 3"))
    again = chart(*args)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert "replicaCount: 3" in values.read_text()
    assert chart(*args, "--force").returncode == 0
    assert "replicaCount: 1" in values.read_text()


def test_init_writes_nothing_through_a_symbolic_link(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "argocd").symlink_to(outside)
    result = chart("init", "orders", "--image", "harbor.example.com/shop/orders:1.0", "--config-repo", str(clone),
                   "--repo-url", REPO_URL)
    assert result.returncode == 1 and "argocd in the config repository is a symbolic link" in result.stderr
    assert list(outside.iterdir()) == []


def test_init_without_origin_or_repo_url_says_what_to_pass(tmp_path: Path):
    result = chart("init", "orders", "--image", "harbor.example.com/shop/orders", "--config-repo", str(tmp_path))
    assert result.returncode == 2
    assert "pass --repo-url" in result.stderr


def test_skeleton_is_declared_as_package_data():
    # Without it a wheel install ships a chart command with no chart.
    # setuptools expands package-data patterns with a recursive glob from the package folder.
    package = ROOT / "sdk" / "pipeyard"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pipeyard"]
    shipped = {f for pattern in patterns for f in glob.glob(pattern, root_dir=package, recursive=True)}
    skeleton = {str(p.relative_to(package)) for p in (package / "charts" / "skeleton").rglob("*") if p.is_file()}
    assert skeleton and not skeleton - shipped, f"not package data: {sorted(skeleton - shipped)}"


def test_chart_is_a_pipeyard_subcommand():
    result = run_cli("pipeyard", "chart", "init", "--help")
    assert result.returncode == 0, result.stderr
    assert "--config-repo" in result.stdout and "--image REPO[:TAG][@DIGEST]" in result.stdout
    assert run_cli("pipeyard", "chart", "check", "--help").returncode == 0
