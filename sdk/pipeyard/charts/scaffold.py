"""Write an app's Helm chart, its per-environment values and its ArgoCD objects into a config repository.

Layout (what gitops-bump and ArgoCD expect, see pipeyard_kit.configrepo):

    apps/<app>/Chart.yaml, values.yaml, values-<env>.yaml, templates/
    argocd/<env>/<app>.yaml                 one Application per environment, and a kustomization.yaml
                                            listing them, for an app-of-apps per environment
    argocd/applicationsets/<app>.yaml       or, with --applicationset, one ApplicationSet for every environment
    argocd/projects/<project>.yaml          the AppProject that limits where the apps may deploy

Protected environments (prod by default) sync from their own branch (deploy/prod), which GitLab lets
nobody push to: it changes only by merge request, so the CI token that pushes dev cannot touch prod.
Without a pinned --image, no environment syncs automatically until gitops-bump pins its first image.

The chart's templates are copied verbatim (Helm's own {{ }} syntax); only the *.tmpl files take
${placeholders}, so the two template languages never meet.
"""

from __future__ import annotations

import json
import re
import string
import subprocess
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipeyard_kit import configrepo, yamlio
from pipeyard_kit.configrepo import (
    ANNOTATION_PROTECTION,
    ANNOTATION_SYNC,
    APPLICATIONSETS_DIR,
    APPS_DIR,
    ARGOCD_DIR,
    LABEL_APP,
    LABEL_ENV,
    LABEL_PROTECTED,
    PROJECTS_DIR,
    SYNC_WAITING,
)
from pipeyard_kit.errors import ModelError, UsageError
from pipeyard_kit.refs import APP_NAME, APP_NAME_MAX, REFERENCE_RE, check_repository
from pipeyard_kit.yamlio import dump_yaml

HEADER = "# Written by `pipeyard chart init`; this file now belongs to the config repository.\n"
IN_CLUSTER = "https://kubernetes.default.svc"
# Kubernetes names: a namespace is a DNS-1123 label, most other objects a DNS-1123 subdomain.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Only when the system has no time zone database to ask (zoneinfo finds none).
TIMEZONE_SHAPE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")

# Sizes per environment; anything not listed gets the dev sizes.
SIZES = {
    "dev": {"replicas": 1, "cpu": "100m", "memory": "512Mi", "memory_limit": "1Gi"},
    "test": {"replicas": 1, "cpu": "250m", "memory": "512Mi", "memory_limit": "1Gi"},
    "prod": {"replicas": 2, "cpu": "500m", "memory": "1Gi", "memory_limit": "2Gi"},
}
# What the chart deploys, for the AppProject's whitelist.
CHART_KINDS = (("apps", "Deployment"), ("", "Service"), ("", "ConfigMap"), ("", "ServiceAccount"),
               ("networking.k8s.io", "Ingress"), ("networking.k8s.io", "NetworkPolicy"),
               ("policy", "PodDisruptionBudget"), ("autoscaling", "HorizontalPodAutoscaler"),
               ("monitoring.coreos.com", "ServiceMonitor"))


def gitlab_protection(branch: str) -> str:
    """The GitLab settings that make `branch` change only by merge request."""
    return (f"protect branch {branch} in GitLab (Settings > Repository > Protected branches): Allowed to merge: "
            "Maintainers, Allowed to push and merge: No one, Allowed to force push: off; and require approval of "
            "merge requests into it (Settings > Merge requests > Approvals)")


@dataclass(frozen=True)
class ChartSpec:
    app: str
    image: str  # the repository, without tag or digest
    repo_url: str
    tag: str = ""
    digest: str = ""
    environments: tuple[str, ...] = ("dev", "test", "prod")
    protected: tuple[str, ...] = ("prod",)
    protected_branch: str = "deploy/{env}"
    revision: str = "HEAD"
    namespace: str = "{env}"
    argocd_namespace: str = "argocd"
    argocd_project: str = "default"
    applicationset: bool = False
    pull_secrets: tuple[str, ...] = ()
    timezone: str = "UTC"
    ingress_domain: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return bool(self.tag or self.digest)

    @property
    def project(self) -> str:
        """The ArgoCD project: an ApplicationSet gets one of the app's own rather than `default`."""
        if self.applicationset and self.argocd_project == "default":
            return self.app
        return self.argocd_project

    def namespace_for(self, env: str) -> str:
        return self.namespace.format(app=self.app, env=env)

    def revision_for(self, env: str) -> str:
        return self.protected_branch.format(app=self.app, env=env) if env in self.protected else self.revision

    def host_for(self, env: str) -> str:
        if not self.ingress_domain:
            return ""
        return f"{self.app}.{self.ingress_domain}" if env == "prod" else f"{self.app}.{env}.{self.ingress_domain}"


def parse_image_option(text: str) -> tuple[str, str, str]:
    """--image REPO[:TAG][@DIGEST] as (repository, tag, digest)."""
    value = (text or "").strip()
    match = REFERENCE_RE.match(value)
    repository = match["repo"] if match else value
    check_repository(repository)
    if not match:
        raise UsageError(f"--image {value!r} is not an image reference",
                         fix="write REGISTRY/PATH[:TAG][@sha256:DIGEST], e.g. harbor.example.com/team/app:1.4.2")
    return repository, match["tag"] or "", match["digest"] or ""


def _skeleton() -> Traversable:
    return resources.files("pipeyard.charts").joinpath("skeleton/chart")


def _fill(text: str, values: dict[str, Any], name: str) -> str:
    try:
        return string.Template(text).substitute({k: str(v) for k, v in values.items()})
    except (KeyError, ValueError) as exc:
        raise UsageError(f"chart skeleton {name} has an unknown placeholder ({exc})",
                         fix="this is a pipeyard bug: report it") from None


def _known_timezone(name: str) -> bool:
    zones = zoneinfo.available_timezones()
    if not zones:
        return bool(TIMEZONE_SHAPE.match(name)) and ".." not in name
    return name in zones


def validate(spec: ChartSpec) -> None:
    problems = []
    if not APP_NAME.match(spec.app) or len(spec.app) > APP_NAME_MAX:
        problems.append(f"APP {spec.app!r} is not a valid app name: use up to 53 lowercase letters, digits and '-', "
                        "starting with a letter (it names the Helm release and the Kubernetes objects)")
    try:
        check_repository(spec.image)
    except UsageError as exc:
        problems.append(exc.render())
    bad_envs = [e for e in spec.environments if not configrepo.ENV_NAME.match(e)]
    if not spec.environments or bad_envs:
        problems.append(f"--environments {','.join(spec.environments)!r} is not a list of environment names: "
                        f"use {configrepo.ENV_NAME_RULE}, separated by commas, e.g. dev,test,prod")
    strangers = [e for e in spec.protected if e not in spec.environments]
    if strangers:
        problems.append(f"--protected-environments names {', '.join(strangers)}, which --environments does not list: "
                        "protect some of the environments, or `none`")
    if spec.protected:
        problems += _branch_problems(spec)
    if not spec.pinned and spec.applicationset:
        problems.append("--applicationset needs --image with a tag or digest: an ApplicationSet lives on the protected "
                        "branch and cannot wait for each environment's first bump")
    if not _known_timezone(spec.timezone):
        problems.append(f"--timezone {spec.timezone!r} is not a time zone name: use one of the IANA database, "
                        "like Asia/Shanghai or UTC")
    parts = urlsplit(spec.repo_url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        problems.append(f"--repo-url {spec.repo_url!r} is not an http(s) URL: use the config repository's "
                        "clone URL, e.g. https://gitlab.example.com/platform/config.git")
    elif parts.username or parts.password:
        problems.append("--repo-url carries credentials: ArgoCD gets them from a repository Secret, never from the URL")
    try:
        namespaces = {e: spec.namespace_for(e) for e in spec.environments}
    except (KeyError, IndexError, ValueError):
        problems.append(f"--namespace {spec.namespace!r} uses an unknown placeholder: use {{app}} and {{env}}")
    else:
        bad = sorted({n for n in namespaces.values() if not DNS_LABEL.match(n)})
        if bad:
            problems.append(f"--namespace {spec.namespace!r} gives {', '.join(bad)}, not a namespace name: use up to "
                            "63 lowercase letters, digits and '-', starting and ending with a letter or digit")
    if not DNS_LABEL.match(spec.argocd_namespace):
        problems.append(f"--argocd-namespace {spec.argocd_namespace!r} is not a namespace name: use lowercase "
                        "letters, digits and '-'")
    if not DNS_SUBDOMAIN.match(spec.project):
        problems.append(f"--argocd-project {spec.project!r} is not an ArgoCD project name: use lowercase letters, "
                        "digits, '-' and '.'")
    bad_secrets = [s for s in spec.pull_secrets if not DNS_SUBDOMAIN.match(s)]
    if bad_secrets:
        problems.append(f"--pull-secret {', '.join(bad_secrets)} is not a Secret name: use lowercase letters, "
                        "digits, '-' and '.'")
    if spec.ingress_domain and not DNS_SUBDOMAIN.match(spec.ingress_domain):
        problems.append(f"--ingress-domain {spec.ingress_domain!r} is not a DNS domain: use e.g. apps.example.com")
    if problems:
        raise UsageError("; ".join(problems) if len(problems) == 1 else
                         f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


def _branch_problems(spec: ChartSpec) -> list[str]:
    try:
        branches = {e: spec.revision_for(e) for e in spec.protected}
    except (KeyError, IndexError, ValueError):
        return [f"--protected-branch {spec.protected_branch!r} uses an unknown placeholder: use {{app}} and {{env}}"]
    problems = []
    for env, branch in branches.items():
        if not configrepo.BRANCH_NAME.match(branch) or branch == "HEAD":
            problems.append(f"--protected-branch gives {branch!r} for {env}, not a branch name: use e.g. deploy/{{env}}")
        elif branch in (spec.revision, spec.revision.removeprefix("refs/heads/")):
            problems.append(f"--protected-branch gives {branch} for {env}, the branch the other environments track "
                            f"(--revision): a protected environment needs a branch of its own")
    if len(set(branches.values())) < len(branches):
        problems.append(f"--protected-branch {spec.protected_branch!r} gives every protected environment the same "
                        "branch: include {env}")
    return problems


# --- the chart --------------------------------------------------------------------------------------------
def _pin_note(spec: ChartSpec) -> str:
    note = "The gitops-bump job rewrites image.tag, image.digest and image.pipeline after every publish;"
    if not spec.pinned:
        note = ("No image is pinned yet: ArgoCD does not sync this environment until the first gitops bump.\n# "
                + note)
    return note


def chart_files(spec: ChartSpec) -> dict[str, str]:
    """Every file of apps/<app>/, relative to the config repository."""
    base = f"{APPS_DIR}/{spec.app}"
    pull_secrets = json.dumps([{"name": s} for s in spec.pull_secrets]).replace('"name"', "name")
    fill = {"app": spec.app, "image": spec.image, "tag": spec.tag, "digest": spec.digest, "timezone": spec.timezone,
            "pull_secrets": pull_secrets}
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
        values = {**fill, **SIZES.get(env, SIZES["dev"]), "env": env, "pin_note": _pin_note(spec),
                  "ingress_enabled": "true" if host else "false", "ingress_host": host}
        files[f"{base}/{configrepo.values_file(env)}"] = _fill(per_env, values, f"values-{env}.yaml")
    return files


# --- the ArgoCD objects ------------------------------------------------------------------------------------
def _sync_policy(automated: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if automated:
        policy["automated"] = {"prune": True, "selfHeal": True}
    policy["syncOptions"] = ["CreateNamespace=true"]
    policy["retry"] = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
    return policy


def application(spec: ChartSpec, env: str) -> dict[str, Any]:
    protected = env in spec.protected
    annotations = {}
    if protected:
        annotations[ANNOTATION_PROTECTION] = gitlab_protection(spec.revision_for(env))
    if not spec.pinned:
        annotations[ANNOTATION_SYNC] = SYNC_WAITING
    metadata: dict[str, Any] = {
        "name": f"{spec.app}-{env}",
        "namespace": spec.argocd_namespace,
        "labels": {LABEL_APP: spec.app, LABEL_ENV: env, LABEL_PROTECTED: "true" if protected else "false"},
    }
    if annotations:
        metadata["annotations"] = annotations
    # Deleting the Application deletes what it deployed, instead of orphaning it.
    metadata["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": {
            "project": spec.project,
            "source": {
                "repoURL": spec.repo_url,
                "targetRevision": spec.revision_for(env),
                "path": f"{APPS_DIR}/{spec.app}",
                "helm": {"releaseName": spec.app, "valueFiles": [configrepo.values_file(env)]},
            },
            "destination": {"server": IN_CLUSTER, "namespace": spec.namespace_for(env)},
            # Unpinned, an environment waits for its first gitops bump, which turns automated sync on.
            "syncPolicy": _sync_policy(spec.pinned),
        },
    }


def application_set(spec: ChartSpec) -> dict[str, Any]:
    """One ApplicationSet generating the app's Application in every environment (list generator)."""
    elements = [{"env": env, "namespace": spec.namespace_for(env), "revision": spec.revision_for(env),
                 "protected": "true" if env in spec.protected else "false"} for env in spec.environments]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": spec.app, "namespace": spec.argocd_namespace, "labels": {LABEL_APP: spec.app}},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": {
                "metadata": {
                    "name": f"{spec.app}-{{{{.env}}}}",
                    "labels": {LABEL_APP: spec.app, LABEL_ENV: "{{.env}}", LABEL_PROTECTED: "{{.protected}}"},
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                },
                "spec": {
                    "project": spec.project,
                    "source": {
                        "repoURL": spec.repo_url,
                        "targetRevision": "{{.revision}}",
                        "path": f"{APPS_DIR}/{spec.app}",
                        "helm": {"releaseName": spec.app, "valueFiles": ["values-{{.env}}.yaml"]},
                    },
                    "destination": {"server": IN_CLUSTER, "namespace": "{{.namespace}}"},
                    "syncPolicy": _sync_policy(True),
                },
            },
            # Deleting the ApplicationSet leaves the apps running; deleting one Application still prunes.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
        },
    }


def app_project(spec: ChartSpec, existing: str | None) -> dict[str, Any]:
    """The AppProject: only this config repository, only these namespaces in this cluster, only the chart's kinds."""
    data: dict[str, Any] = {}
    if existing:
        try:
            data = yamlio.load(existing, "the AppProject") or {}
        except ModelError:
            data = {}
    data = data if isinstance(data, dict) else {}
    old = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    repos = sorted({*(old.get("sourceRepos") or []), spec.repo_url})
    namespaces = sorted({d.get("namespace") for d in old.get("destinations") or [] if isinstance(d, dict)}
                        | {spec.namespace_for(e) for e in spec.environments})
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": spec.project, "namespace": spec.argocd_namespace,
                     # A project with Applications in it cannot be deleted from under them.
                     "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {
            "description": old.get("description") or f"Apps deployed from {spec.repo_url}, written by pipeyard",
            "sourceRepos": repos,
            "destinations": [{"server": IN_CLUSTER, "namespace": ns} for ns in namespaces],
            # CreateNamespace=true: the project may create exactly its own namespaces, nothing else cluster-wide.
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace", "name": ns} for ns in namespaces],
            "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in CHART_KINDS],
            "orphanedResources": {"warn": True},
        },
    }


def kustomization(existing: str | None, resource: str) -> str:
    data: dict[str, Any] = {}
    if existing:
        try:
            data = yamlio.load(existing, "kustomization.yaml") or {}
        except ModelError:
            data = {}
    data = data if isinstance(data, dict) else {}
    resources_ = sorted({*(data.get("resources") or []), resource})
    data.update({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources_})
    return HEADER + dump_yaml(data)


def _protected_header(spec: ChartSpec, env: str) -> str:
    branch = spec.revision_for(env)
    return (HEADER + f"# {env} is protected: ArgoCD syncs it from {branch}, which changes only by merge request.\n"
            f"# For that to hold, {gitlab_protection(branch)}.\n"
            f"# Keep this file, and the app-of-apps that syncs {ARGOCD_DIR}/{env}, on {branch}.\n")


def argocd_files(spec: ChartSpec, root: Path) -> dict[str, str]:
    files = {}

    def add_to_kustomization(folder: str, name: str) -> None:
        current = root / folder / "kustomization.yaml"
        files[f"{folder}/kustomization.yaml"] = kustomization(
            current.read_text(encoding="utf-8") if current.is_file() else None, name)

    if spec.applicationset:
        folder = f"{ARGOCD_DIR}/{APPLICATIONSETS_DIR}"
        header = HEADER
        if spec.protected:
            branches = ", ".join(sorted({spec.revision_for(e) for e in spec.protected}))
            header += (f"# It generates protected environments ({', '.join(spec.protected)}): sync this folder from "
                       f"{branches},\n# protected in GitLab, so it changes only by merge request.\n")
        files[f"{folder}/{spec.app}.yaml"] = header + dump_yaml(application_set(spec), sort_keys=False)
        add_to_kustomization(folder, f"{spec.app}.yaml")
    else:
        for env in spec.environments:
            folder = f"{ARGOCD_DIR}/{env}"
            header = _protected_header(spec, env) if env in spec.protected else HEADER
            files[f"{folder}/{spec.app}.yaml"] = header + dump_yaml(application(spec, env), sort_keys=False)
            add_to_kustomization(folder, f"{spec.app}.yaml")
    if spec.project != "default":
        folder = f"{ARGOCD_DIR}/{PROJECTS_DIR}"
        current = root / folder / f"{spec.project}.yaml"
        existing = current.read_text(encoding="utf-8") if current.is_file() else None
        files[f"{folder}/{spec.project}.yaml"] = HEADER + dump_yaml(app_project(spec, existing), sort_keys=False)
        add_to_kustomization(folder, f"{spec.project}.yaml")
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
    """Write the chart and the ArgoCD objects; returns the paths written, relative to config_repo."""
    validate(spec)
    if not config_repo.is_dir():
        raise UsageError(f"--config-repo {config_repo} is not a folder", fix="clone the config repository first")
    app_dir = config_repo / APPS_DIR / spec.app
    if app_dir.exists() and not force:
        raise UsageError(f"{app_dir} already exists",
                         fix="pass --force to overwrite it (values files included), or pick another app name")
    files = {**chart_files(spec), **argocd_files(spec, config_repo)}
    for rel, text in sorted(files.items()):
        # Never through a symbolic link in the clone: what is written stays inside it.
        path = configrepo.inside(config_repo, rel, what="file")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(files)
