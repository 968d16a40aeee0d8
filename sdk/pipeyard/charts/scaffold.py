"""Write an app's Helm chart, its per-environment values and ArgoCD Applications into a config repository.

Layout (what gitops-bump and ArgoCD expect):

    apps/<app>/Chart.yaml, values.yaml, values-<env>.yaml, templates/
    argocd/<env>/<app>.yaml            one Application per environment
    argocd/<env>/kustomization.yaml    lists them, for an app-of-apps per environment

The chart's templates are copied verbatim (Helm's own {{ }} syntax); only the *.tmpl
files take ${placeholders}, so the two template languages never meet.
"""

from __future__ import annotations

import re
import string
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from pipeyard_kit.errors import UsageError
from pipeyard_kit.refs import TAG, check_repository
from pipeyard_kit.yamlio import dump_yaml

APP_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TIMEZONE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")
APPS_DIR = "apps"
ARGOCD_DIR = "argocd"
HEADER = "# Written by `pipeyard chart init`; this file now belongs to the config repository.\n"

# Sizes per environment; anything not listed gets the dev sizes.
SIZES = {
    "dev": {"replicas": 1, "cpu": "100m", "memory": "512Mi", "memory_limit": "1Gi"},
    "test": {"replicas": 1, "cpu": "250m", "memory": "512Mi", "memory_limit": "1Gi"},
    "prod": {"replicas": 2, "cpu": "500m", "memory": "1Gi", "memory_limit": "2Gi"},
}


@dataclass(frozen=True)
class ChartSpec:
    app: str
    image: str
    repo_url: str
    environments: tuple[str, ...] = ("dev", "test", "prod")
    tag: str = "latest"
    revision: str = "HEAD"
    namespace: str = "{env}"
    argocd_namespace: str = "argocd"
    argocd_project: str = "default"
    timezone: str = "UTC"
    ingress_domain: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def namespace_for(self, env: str) -> str:
        return self.namespace.format(app=self.app, env=env)

    def host_for(self, env: str) -> str:
        if not self.ingress_domain:
            return ""
        return f"{self.app}.{self.ingress_domain}" if env == "prod" else f"{self.app}.{env}.{self.ingress_domain}"


def _skeleton() -> Traversable:
    return resources.files("pipeyard.charts").joinpath("skeleton/chart")


def _fill(text: str, values: dict[str, Any], name: str) -> str:
    try:
        return string.Template(text).substitute({k: str(v) for k, v in values.items()})
    except (KeyError, ValueError) as exc:
        raise UsageError(f"chart skeleton {name} has an unknown placeholder ({exc})",
                         fix="this is a pipeyard bug: report it") from None


def validate(spec: ChartSpec) -> None:
    problems = []
    if not APP_NAME.match(spec.app) or len(spec.app) > 53:
        problems.append(f"APP {spec.app!r} is not a valid app name: use up to 53 lowercase letters, digits and '-', "
                        "starting with a letter (it names the Helm release and the Kubernetes objects)")
    try:
        check_repository(spec.image)
    except UsageError as exc:
        problems.append(exc.render())
    bad_envs = [e for e in spec.environments if not ENV_NAME.match(e)]
    if not spec.environments or bad_envs:
        problems.append(f"--environments {','.join(spec.environments)!r} is not a list of environment names: "
                        "use lowercase names separated by commas, e.g. dev,test,prod")
    if not TAG.match(spec.tag):
        problems.append(f"--tag {spec.tag!r} is not an image tag: use up to 128 letters, digits, '_', '.' and '-'")
    if not TIMEZONE.match(spec.timezone):
        problems.append(f"--timezone {spec.timezone!r} is not a time zone name: use one like Asia/Shanghai or UTC")
    parts = urlsplit(spec.repo_url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        problems.append(f"--repo-url {spec.repo_url!r} is not an http(s) URL: use the config repository's "
                        "clone URL, e.g. https://gitlab.example.com/platform/config.git")
    try:
        {spec.namespace_for(e) for e in spec.environments}
    except (KeyError, IndexError, ValueError):
        problems.append(f"--namespace {spec.namespace!r} uses an unknown placeholder: use {{app}} and {{env}}")
    if problems:
        raise UsageError("; ".join(problems) if len(problems) == 1 else
                         f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


def chart_files(spec: ChartSpec) -> dict[str, str]:
    """Every file of apps/<app>/, relative to the config repository."""
    base = f"{APPS_DIR}/{spec.app}"
    fill = {"app": spec.app, "image": spec.image, "tag": spec.tag, "timezone": spec.timezone}
    files: dict[str, str] = {}

    def walk(node: Traversable, rel: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            path = f"{rel}/{child.name}" if rel else child.name
            if child.is_dir():
                walk(child, path)
            elif child.name == "values-env.yaml.tmpl":
                continue
            elif child.name == "helmignore":
                files[f"{base}/.helmignore"] = child.read_text(encoding="utf-8")
            elif child.name.endswith(".tmpl"):
                files[f"{base}/{path[:-len('.tmpl')]}"] = _fill(child.read_text(encoding="utf-8"), fill, path)
            else:
                files[f"{base}/{path}"] = child.read_text(encoding="utf-8")

    walk(_skeleton(), "")
    per_env = _skeleton().joinpath("values-env.yaml.tmpl").read_text(encoding="utf-8")
    for env in spec.environments:
        host = spec.host_for(env)
        values = {**fill, **SIZES.get(env, SIZES["dev"]), "env": env,
                  "ingress_enabled": "true" if host else "false", "ingress_host": host}
        files[f"{base}/values-{env}.yaml"] = _fill(per_env, values, f"values-{env}.yaml")
    return files


def application(spec: ChartSpec, env: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"{spec.app}-{env}",
            "namespace": spec.argocd_namespace,
            "labels": {"app.kubernetes.io/name": spec.app, "pipeyard.dev/environment": env},
            # Deleting the Application deletes what it deployed, instead of orphaning it.
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": spec.argocd_project,
            "source": {
                "repoURL": spec.repo_url,
                "targetRevision": spec.revision,
                "path": f"{APPS_DIR}/{spec.app}",
                "helm": {"releaseName": spec.app, "valueFiles": [f"values-{env}.yaml"]},
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": spec.namespace_for(env)},
            # Protected environments are already gated by merge requests on this repository.
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                           "syncOptions": ["CreateNamespace=true"]},
        },
    }


def kustomization(existing: str | None, resource: str) -> str:
    data: dict[str, Any] = {}
    if existing:
        try:
            data = yaml.safe_load(existing) or {}
        except yaml.YAMLError:
            data = {}
    resources_ = sorted({*(data.get("resources") or []), resource})
    data.update({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources_})
    return HEADER + dump_yaml(data)


def argocd_files(spec: ChartSpec, root: Path) -> dict[str, str]:
    files = {}
    for env in spec.environments:
        folder = f"{ARGOCD_DIR}/{env}"
        files[f"{folder}/{spec.app}.yaml"] = HEADER + dump_yaml(application(spec, env), sort_keys=False)
        current = root / folder / "kustomization.yaml"
        files[f"{folder}/kustomization.yaml"] = kustomization(
            current.read_text(encoding="utf-8") if current.is_file() else None, f"{spec.app}.yaml")
    return files


def origin_url(config_repo: Path) -> str:
    """The config repository's own remote, without any credentials in it, or '' if there is none."""
    try:
        proc = subprocess.run(["git", "-C", str(config_repo), "remote", "get-url", "origin"],
                              check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    url = proc.stdout.strip() if proc.returncode == 0 else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return ""
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))


def init_chart(spec: ChartSpec, config_repo: Path, *, force: bool = False) -> list[str]:
    """Write the chart and the Applications; returns the paths written, relative to config_repo."""
    validate(spec)
    if not config_repo.is_dir():
        raise UsageError(f"--config-repo {config_repo} is not a folder", fix="clone the config repository first")
    app_dir = config_repo / APPS_DIR / spec.app
    if app_dir.exists() and not force:
        raise UsageError(f"{app_dir} already exists",
                         fix="pass --force to overwrite it (values files included), or pick another app name")
    files = {**chart_files(spec), **argocd_files(spec, config_repo)}
    for rel, text in sorted(files.items()):
        path = config_repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(files)
