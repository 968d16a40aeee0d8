"""The chart as platform teams run charts: read-only root, its own ServiceAccount, disruption budget and spreading
with replicas, a NetworkPolicy by default, metrics on the Service and a ServiceMonitor, an HPA, pull secrets.
Rendered by the real Helm, checked by `helm lint --strict`, the Kubernetes 1.33 and 1.35 schemas and the
restricted Pod Security profile."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import KUBERNETES_VERSIONS, helm_lint, helm_template, init, kubernetes_validate, objects
from .pss import restricted_violations


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("config")
    init(root, "orders", "--pull-secret", "harbor-pull", "--pull-secret", "harbor-mirror")
    return root / "apps" / "orders"


def render(helm: Path, chart_dir: Path, tmp_path: Path, env: str = "dev", **values) -> dict[str, dict]:
    """Render one environment with `values` on top; lint it, validate it on every Kubernetes version."""
    args = ["-f", str(chart_dir / f"values-{env}.yaml")]
    if values:
        extra = tmp_path / "extra.yaml"
        extra.write_text(yaml.safe_dump(values))
        args += ["-f", str(extra)]
    lint = helm_lint(helm, chart_dir, *args)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = helm_template(helm, chart_dir, *args)
    assert rendered.returncode == 0, rendered.stderr
    out = tmp_path / "rendered.yaml"
    out.write_text(rendered.stdout)
    for version in KUBERNETES_VERSIONS:
        checked = kubernetes_validate(out, version)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    found = objects(rendered.stdout)
    assert restricted_violations(found["Deployment"]) == []
    return found


def pod_spec(found: dict[str, dict]) -> dict:
    return found["Deployment"]["spec"]["template"]["spec"]


def test_the_root_file_system_is_read_only_with_tmp_on_an_empty_dir(helm, chart_dir, tmp_path):
    spec = pod_spec(render(helm, chart_dir, tmp_path))
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]

    more = pod_spec(render(helm, chart_dir, tmp_path, writablePaths=["/home/app"]))
    assert {"name": "writable-0", "mountPath": "/home/app"} in more["containers"][0]["volumeMounts"]
    assert {"name": "writable-0", "emptyDir": {}} in more["volumes"]


def test_a_relative_writable_path_is_refused_with_the_fix(helm, chart_dir, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"writablePaths": ["home/app"]}))
    rendered = helm_template(helm, chart_dir, "-f", str(chart_dir / "values-dev.yaml"), "-f", str(extra))
    assert rendered.returncode != 0
    assert 'writablePaths has "home/app": use absolute paths such as /home/app' in rendered.stderr


def test_a_service_account_of_its_own_without_a_token(helm, chart_dir, tmp_path):
    found = render(helm, chart_dir, tmp_path)
    account = found["ServiceAccount"]
    assert account["metadata"]["name"] == "orders"
    assert account["automountServiceAccountToken"] is False
    assert account["imagePullSecrets"] == [{"name": "harbor-pull"}, {"name": "harbor-mirror"}]
    spec = pod_spec(found)
    assert spec["serviceAccountName"] == "orders" and spec["automountServiceAccountToken"] is False
    assert spec["imagePullSecrets"] == [{"name": "harbor-pull"}, {"name": "harbor-mirror"}]

    existing = render(helm, chart_dir, tmp_path, serviceAccount={"create": False, "name": "shared"})
    assert "ServiceAccount" not in existing and pod_spec(existing)["serviceAccountName"] == "shared"


def test_one_replica_has_no_budget_and_no_spreading(helm, chart_dir, tmp_path):
    found = render(helm, chart_dir, tmp_path, env="dev")
    assert "PodDisruptionBudget" not in found
    assert "topologySpreadConstraints" not in pod_spec(found)


def test_replicas_get_a_disruption_budget_and_soft_spreading(helm, chart_dir, tmp_path):
    found = render(helm, chart_dir, tmp_path, env="prod")
    budget = found["PodDisruptionBudget"]["spec"]
    assert budget == {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                      "selector": {"matchLabels": {"app.kubernetes.io/name": "orders",
                                                   "app.kubernetes.io/instance": "orders"}}}
    spread = pod_spec(found)["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert all(c["whenUnsatisfiable"] == "ScheduleAnyway" and c["matchLabelKeys"] == ["pod-template-hash"]
               and c["labelSelector"] == budget["selector"] for c in spread)
    off = render(helm, chart_dir, tmp_path, env="prod", topologySpread={"enabled": False})
    assert "topologySpreadConstraints" not in pod_spec(off) and "PodDisruptionBudget" in off


def test_the_network_policy_is_on_by_default_and_opens_only_the_app_and_metrics_ports(helm, chart_dir, tmp_path):
    policy = render(helm, chart_dir, tmp_path)["NetworkPolicy"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "orders",
                                                     "app.kubernetes.io/instance": "orders"}}
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]},
                                 {"ports": [{"port": "metrics", "protocol": "TCP"}]}]
    monitoring = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    narrowed = render(helm, chart_dir, tmp_path, networkPolicy={"metricsFrom": monitoring})["NetworkPolicy"]["spec"]
    assert narrowed["ingress"][1] == {"ports": [{"port": "metrics", "protocol": "TCP"}], "from": monitoring}
    assert "NetworkPolicy" not in render(helm, chart_dir, tmp_path, networkPolicy={"enabled": False})


def test_metrics_on_the_service_and_an_optional_service_monitor(helm, chart_dir, tmp_path):
    found = render(helm, chart_dir, tmp_path)
    assert {"name": "metrics", "port": 9404, "targetPort": "metrics", "protocol": "TCP"} in \
        found["Service"]["spec"]["ports"]
    assert "ServiceMonitor" not in found
    monitored = render(helm, chart_dir, tmp_path, metrics={"serviceMonitor": {"enabled": True,
                                                                              "labels": {"release": "prometheus"}}})
    monitor = monitored["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    # The Service selects the pods, the ServiceMonitor the Service, by the same labels.
    assert monitor["spec"]["selector"] == monitored["Deployment"]["spec"]["selector"]
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]


def test_an_optional_autoscaler_takes_over_the_replica_count(helm, chart_dir, tmp_path):
    found = render(helm, chart_dir, tmp_path, autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 6,
                                                           "targetMemoryUtilizationPercentage": 80})
    hpa = found["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu", "memory"]
    # ArgoCD would fight the autoscaler over a fixed replica count.
    assert "replicas" not in found["Deployment"]["spec"]
    # Two replicas at least: the budget and the spreading come with them.
    assert "PodDisruptionBudget" in found and "topologySpreadConstraints" in pod_spec(found)


def test_an_environment_without_a_pinned_image_renders_nothing(helm, tmp_path):
    root = tmp_path / "unpinned"
    root.mkdir()
    init(root, "orders", image="harbor.example.com/shop/orders")
    chart_dir = root / "apps" / "orders"
    rendered = helm_template(helm, chart_dir, "-f", str(chart_dir / "values-dev.yaml"))
    assert rendered.returncode != 0
    assert "image.tag and image.digest are empty: this environment has no pinned image yet" in rendered.stderr
    digest_only = helm_template(helm, chart_dir, "-f", str(chart_dir / "values-dev.yaml"),
                                "--set", "image.digest=sha256:" + "7" * 64)
    assert digest_only.returncode == 0, digest_only.stderr
    image = objects(digest_only.stdout)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "harbor.example.com/shop/orders@sha256:" + "7" * 64


def test_the_restricted_check_catches_what_it_should():
    # The checker itself, on a workload that breaks the profile in the usual ways.
    bad = {"kind": "Deployment", "spec": {"template": {"spec": {
        "hostNetwork": True,
        "volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}],
        "containers": [{"name": "app", "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
                        "ports": [{"containerPort": 80, "hostPort": 80}]}]}}}}
    found = restricted_violations(bad)
    for control in ("Host Namespaces", "HostPath Volumes", "Privileged Containers", "Capabilities: app adds SYS_ADMIN",
                    "Host Ports", "Volume Types", "Privilege Escalation", "Running as Non-root", "Seccomp",
                    "Capabilities: app must drop ALL"):
        assert any(v.startswith(control) for v in found), (control, found)
