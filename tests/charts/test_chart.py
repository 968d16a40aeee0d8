"""`pipeyard chart init`, rendered by the real Helm and validated against Kubernetes 1.33 schemas."""

from __future__ import annotations

import glob
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.fixtures import ROOT, run_cli

from .conftest import chart

ENVIRONMENTS = ("dev", "test", "prod")
REPO_URL = "https://gitlab.example.com/platform/config.git"
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("config")
    result = chart("init", "orders", "--image", "harbor.example.com/shop/orders", "--config-repo", str(root),
                   "--repo-url", REPO_URL, "--ingress-domain", "apps.example.com", "--timezone", "Asia/Shanghai")
    assert result.returncode == 0, result.stderr
    return root


def helm_template(helm: Path, chart_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), "template", "orders", str(chart_dir), *args], capture_output=True, text=True,
                          timeout=120)


def docs(text: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all(text) if d}


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KUBERNETES_VALIDATE), "-k", "1.33.0", "--strict", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_init_writes_chart_values_and_applications(config_dir: Path):
    app = config_dir / "apps" / "orders"
    for rel in ("Chart.yaml", "values.yaml", ".helmignore", "templates/deployment.yaml", "templates/service.yaml",
                "templates/ingress.yaml", "templates/configmap.yaml", "templates/_helpers.tpl"):
        assert (app / rel).is_file(), rel
    for env in ENVIRONMENTS:
        values = yaml.safe_load((app / f"values-{env}.yaml").read_text())
        # The keys gitops-bump rewrites are there from the start.
        assert values["image"] == {"tag": "latest", "digest": ""}
        application = yaml.safe_load((config_dir / "argocd" / env / "orders.yaml").read_text())
        assert application["kind"] == "Application"
        assert application["spec"]["source"] == {
            "repoURL": REPO_URL, "targetRevision": "HEAD", "path": "apps/orders",
            "helm": {"releaseName": "orders", "valueFiles": [f"values-{env}.yaml"]}}
        assert application["spec"]["destination"]["namespace"] == env
    assert yaml.safe_load((app / "Chart.yaml").read_text())["name"] == "orders"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_lints_renders_and_validates(helm: Path, config_dir: Path, tmp_path: Path, env: str):
    chart_dir = config_dir / "apps" / "orders"
    lint = subprocess.run([str(helm), "lint", "--strict", str(chart_dir), "-f", str(chart_dir / f"values-{env}.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = helm_template(helm, chart_dir, "-f", str(chart_dir / f"values-{env}.yaml"), "--namespace", env)
    assert rendered.returncode == 0, rendered.stderr
    out = tmp_path / f"{env}.yaml"
    out.write_text(rendered.stdout)
    checked = validate(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "passed for resource deployment/orders" in checked.stdout

    objects = docs(rendered.stdout)
    assert set(objects) == {"Deployment", "Service", "Ingress"}
    deployment = objects["Deployment"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == (2 if env == "prod" else 1)
    assert container["image"] == "harbor.example.com/shop/orders:latest"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9404"
    assert {"name": "metrics", "containerPort": 9404, "protocol": "TCP"} in container["ports"]
    env_vars = {e["name"]: e.get("value") for e in container["env"]}
    assert env_vars["TZ"] == "Asia/Shanghai"
    assert env_vars["B2I_TRACING"] == "off" and env_vars["B2I_APP_PORT"] == "8080"
    assert "SW_AGENT_COLLECTOR_BACKEND_SERVICES" not in env_vars
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "http"
    assert container["resources"]["limits"]["memory"]
    assert objects["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    host = "orders.apps.example.com" if env == "prod" else f"orders.{env}.apps.example.com"
    assert objects["Ingress"]["spec"]["rules"][0]["host"] == host


def test_switches_config_and_secret_references_render_and_validate(helm: Path, config_dir: Path, tmp_path: Path):
    chart_dir = config_dir / "apps" / "orders"
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump({
        "image": {"tag": "1.4.2", "digest": "sha256:" + "5" * 64},
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
    checked = validate(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    objects = docs(rendered.stdout)
    assert set(objects) == {"Deployment", "Service", "ConfigMap"}
    assert objects["ConfigMap"]["data"] == {"FEATURE_X": "true", "SPRING_PROFILES_ACTIVE": "prod"}
    pod = objects["Deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "harbor.example.com/shop/orders:1.4.2@sha256:" + "5" * 64
    env_vars = {e["name"]: e for e in container["env"]}
    assert env_vars["B2I_TRACING"]["value"] == "on"
    assert env_vars["SW_AGENT_NAME"]["value"] == "orders"
    assert env_vars["SW_AGENT_COLLECTOR_BACKEND_SERVICES"]["value"] == "oap.observability:11800"
    assert env_vars["B2I_METRICS"]["value"] == "off"
    assert env_vars["JAVA_OPTS"]["value"] == "-XX:+UseG1GC"
    assert env_vars["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "orders-db", "key": "password"}}
    assert container["envFrom"] == [{"configMapRef": {"name": "orders"}}, {"secretRef": {"name": "orders-env"}}]
    assert "prometheus.io/scrape" not in pod["metadata"]["annotations"]
    assert [p["name"] for p in container["ports"]] == ["http"]
    assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}


def test_tracing_without_a_collector_fails_with_the_fix(helm: Path, config_dir: Path):
    rendered = helm_template(helm, config_dir / "apps" / "orders", "--set", "tracing.enabled=true")
    assert rendered.returncode != 0
    assert "tracing.collector is empty: set it to the SkyWalking OAP host:port" in rendered.stderr


def test_kustomize_builds_every_environment_with_all_apps(tmp_path: Path):
    for app in ("orders", "billing"):
        result = chart("init", app, "--image", f"harbor.example.com/shop/{app}", "--config-repo", str(tmp_path),
                       "--repo-url", REPO_URL, "--namespace", "{app}-{env}")
        assert result.returncode == 0, result.stderr
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
    result = chart("init", "orders", "--image", "harbor.example.com/shop/orders", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    application = yaml.safe_load((tmp_path / "argocd" / "dev" / "orders.yaml").read_text())
    assert application["spec"]["source"]["repoURL"] == REPO_URL


@pytest.mark.parametrize("args, says", [
    (["orders", "--image", "harbor.example.com/shop/orders:1.0"],
     "--image 'harbor.example.com/shop/orders:1.0' is not an image repository"),
    (["orders", "--image", "orders"], "names no registry host"),
    (["Orders_App", "--image", "harbor.example.com/shop/orders"], "is not a valid app name"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--namespace", "{team}-{env}"], "unknown placeholder"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--tag", "-bad"], "is not an image tag"),
    (["orders", "--image", "harbor.example.com/shop/orders", "--timezone", "../etc"], "is not a time zone name"),
])
def test_init_rejects_bad_input_with_one_message(tmp_path: Path, args, says):
    result = chart("init", *args, "--config-repo", str(tmp_path), "--repo-url", REPO_URL)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and says in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "apps").exists()


def test_init_refuses_to_overwrite_an_app_without_force(tmp_path: Path):
    args = ("init", "orders", "--image", "harbor.example.com/shop/orders", "--config-repo", str(tmp_path),
            "--repo-url", REPO_URL)
    assert chart(*args).returncode == 0
    values = tmp_path / "apps" / "orders" / "values-dev.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1", "replicaCount: 3"))
    again = chart(*args)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert "replicaCount: 3" in values.read_text()
    assert chart(*args, "--force").returncode == 0
    assert "replicaCount: 1" in values.read_text()


def test_init_without_origin_or_repo_url_says_what_to_pass(tmp_path: Path):
    result = chart("init", "orders", "--image", "harbor.example.com/shop/orders", "--config-repo", str(tmp_path))
    assert result.returncode == 2
    assert "pass --repo-url" in result.stderr


def test_skeleton_is_declared_as_package_data():
    # Without it a wheel install (the provider images) ships a chart command with no chart.
    # setuptools expands package-data patterns with a recursive glob from the package folder.
    package = ROOT / "sdk" / "pipeyard"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pipeyard"]
    shipped = {f for pattern in patterns for f in glob.glob(pattern, root_dir=package, recursive=True)}
    skeleton = {str(p.relative_to(package)) for p in (package / "charts" / "skeleton").rglob("*") if p.is_file()}
    assert skeleton and not skeleton - shipped, f"not package data: {sorted(skeleton - shipped)}"


def test_chart_is_a_pipeyard_subcommand():
    result = run_cli("pipeyard", "chart", "init", "--help")
    assert result.returncode == 0, result.stderr
    assert "--config-repo" in result.stdout and "--image REPO" in result.stdout
