"""The config repository ArgoCD syncs, as pipeyard lays it out, and the rules that keep it safe to edit.

`pipeyard chart init` writes it, `pipeyard chart check` audits it and gitops-bump edits it; all three
read it through this module, so they agree on:

- where things are: apps/<app>/ (a Helm chart, values.yaml, values-<env>.yaml) and argocd/ (one
  Application per app and environment, or one ApplicationSet per app, and the AppProjects);
- which environment is protected and which source (branch) it syncs from, read from the Applications
  themselves, because that is what ArgoCD acts on;
- how Helm reads the values files (values.yaml, then values-<env>.yaml over it);
- which paths may be touched: a config repository is data from other people, so a path that leaves
  the checkout, or runs through a symbolic link, is refused before anything is read or written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipeyard_kit import yamlio
from pipeyard_kit.errors import ConfigError

# Applications are read with libyaml's parser where PyYAML has it (yamlio.FAST_LOADER): a bump reads every
# Application in the repository on each attempt, and the pure-Python parser made that half of its time.

APPS_DIR = "apps"
ARGOCD_DIR = "argocd"
APPLICATIONSETS_DIR = "applicationsets"
PROJECTS_DIR = "projects"

LABEL_APP = "app.kubernetes.io/name"
LABEL_ENV = "pipeyard.dev/environment"
# "true" on the Application (or ApplicationSet element) of an environment that changes only through
# merge requests into a protected branch. gitops-bump never pushes directly to what such an
# Application tracks, whatever GITOPS_PROTECTED_ENVIRONMENTS says and whatever the token could do.
LABEL_PROTECTED = "pipeyard.dev/protected"
# "after-first-bump" while an Application waits for its first pinned image (no automated sync);
# the first gitops bump turns automated sync on and sets it to "automated".
ANNOTATION_SYNC = "pipeyard.dev/sync"
SYNC_WAITING = "after-first-bump"
SYNC_STARTED = "automated"
ANNOTATION_PROTECTION = "pipeyard.dev/gitlab-protection"

# Environment names become file names (values-<env>.yaml), branch names (gitops/<app>/<env>) and
# Kubernetes names: a short DNS label, nothing that could climb out of a folder.
ENV_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")
ENV_NAME_RULE = "up to 32 lowercase letters, digits and '-', starting with a letter and not ending with '-'"
# What git accepts as a branch name (git check-ref-format), narrowed to what people type.
BRANCH_NAME = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock(/|$))(?!.*/\.)(?!\.)[A-Za-z0-9._/-]+(?<![/.])$")


def env_name_problem(name: str, setting: str) -> str | None:
    if ENV_NAME.match(name):
        return None
    return f"{setting} has {name!r}, which is not an environment name: use {ENV_NAME_RULE}"


def values_file(env: str) -> str:
    return f"values-{env}.yaml"


# --- paths -------------------------------------------------------------------------------------------
def relative_problem(rel: str, setting: str) -> str | None:
    """Why `rel` cannot name something inside a checkout, or None."""
    if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
        return f"{setting}={rel!r} is not a relative path inside the config repository"
    if any(part in ("", ".", "..") for part in rel.strip("/").split("/")):
        return f"{setting}={rel!r} is not a folder inside the config repository: use a relative path such as apps"
    return None


def inside(root: Path, rel: str, *, what: str = "path") -> Path:
    """root/rel, after proving it stays inside root: no absolute path, no '..', no symbolic link on the way.

    Every component is checked with lstat, so a link in the config repository (to /etc, to the runner's
    home, to another file of the repository) is refused instead of followed, for reads and writes alike.
    """
    problem = relative_problem(rel, what)
    if problem:
        raise ConfigError(problem, fix="name a path inside the config repository")
    base = Path(os.path.realpath(root))
    current = base
    for part in PurePosixPath(rel).parts:
        current = current / part
        if current.is_symlink():
            shown = current.relative_to(base).as_posix()
            raise ConfigError(f"{shown} in the config repository is a symbolic link; {what} {rel} is refused "
                              "rather than followed outside the checkout",
                              fix=f"replace {shown} with a real file or folder in the config repository")
    resolved = Path(os.path.realpath(current))
    if resolved != base and base not in resolved.parents:
        raise ConfigError(f"{what} {rel} leaves the config repository", fix="name a path inside the config repository")
    return current


def walk_files(root: Path, rel: str, suffixes: tuple[str, ...] = (".yaml", ".yml")) -> Iterator[str]:
    """The files under root/rel (relative to root, sorted), refusing symbolic links instead of following them."""
    top = inside(root, rel, what="folder")
    if not top.is_dir():
        return
    base = Path(os.path.realpath(root))
    found = []
    for folder, dirs, files in os.walk(top, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            if path.is_symlink():
                shown = path.relative_to(base).as_posix()
                raise ConfigError(f"{shown} in the config repository is a symbolic link, which pipeyard refuses "
                                  "to follow", fix=f"replace {shown} with a real file or folder")
        found += [(Path(folder) / n).relative_to(base).as_posix() for n in files if n.endswith(suffixes)]
    yield from sorted(found)


# --- Helm's reading of the values files -------------------------------------------------------------
def helm_merge(base: Any, override: Any) -> Any:
    """values.yaml with values-<env>.yaml over it, as Helm coalesces them: maps merge key by key, a null
    deletes the key, anything else replaces (helm.sh/helm/v3 pkg/chartutil/coalesce.go)."""
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return override if override is not None or not isinstance(base, Mapping) else base
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- what ArgoCD syncs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One app in one environment, as an Application (or an ApplicationSet element) makes ArgoCD sync it."""

    app: str
    env: str
    file: str  # the Application or ApplicationSet, relative to the config repository
    kind: str  # Application | ApplicationSet
    repo_url: str
    revision: str  # targetRevision as written: HEAD, a branch, a tag
    path: str
    value_files: tuple[str, ...]
    protected: bool
    automated: bool
    waiting_for_first_bump: bool
    namespace: str = ""
    project: str = ""

    def branch(self, default_branch: str) -> str:
        """The branch this source follows; HEAD is the repository's default branch."""
        return default_branch if self.revision in ("", "HEAD") else self.revision.removeprefix("refs/heads/")


_GO_VAR = re.compile(r"\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}")


def _fill(value: Any, element: Mapping[str, Any]) -> Any:
    """An ApplicationSet template with one list element's {{.key}} placeholders filled in."""
    if isinstance(value, str):
        return _GO_VAR.sub(lambda m: str(element.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [_fill(v, element) for v in value]
    if isinstance(value, Mapping):
        return {_fill(k, element): _fill(v, element) for k, v in value.items()}
    return value


def _source(doc: Mapping[str, Any], file: str, kind: str, env_hint: str) -> Source | None:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
    src = spec.get("source") if isinstance(spec.get("source"), Mapping) else None
    if src is None:
        return None
    labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), Mapping) else {}
    helm = src.get("helm") if isinstance(src.get("helm"), Mapping) else {}
    value_files = tuple(str(v) for v in helm.get("valueFiles") or [] if isinstance(v, str))
    path = str(src.get("path") or "").strip("/")
    env = str(labels.get(LABEL_ENV) or "")
    if not env:
        named = [v[len("values-"):-len(".yaml")] for v in value_files if v.startswith("values-") and v.endswith(".yaml")]
        env = named[-1] if named else env_hint
    app = str(labels.get(LABEL_APP) or PurePosixPath(path).name)
    sync = spec.get("syncPolicy") if isinstance(spec.get("syncPolicy"), Mapping) else {}
    automated = sync.get("automated")
    on = isinstance(automated, Mapping) and automated.get("enabled", True) is not False
    destination = spec.get("destination") if isinstance(spec.get("destination"), Mapping) else {}
    return Source(app=app, env=env, file=file, kind=kind, repo_url=str(src.get("repoURL") or ""),
                  revision=str(src.get("targetRevision") or "HEAD"), path=path, value_files=value_files,
                  protected=str(labels.get(LABEL_PROTECTED, "")).lower() == "true", automated=on,
                  waiting_for_first_bump=annotations.get(ANNOTATION_SYNC) == SYNC_WAITING and not on,
                  namespace=str(destination.get("namespace") or ""), project=str(spec.get("project") or ""))


def sources_in(doc: Any, file: str) -> list[Source]:
    """The sources one YAML document defines: an Application, or an ApplicationSet's list elements."""
    if not isinstance(doc, Mapping) or doc.get("apiVersion", "").split("/")[0] != "argoproj.io":
        return []
    parts = PurePosixPath(file).parts
    env_hint = parts[-2] if len(parts) >= 2 else ""
    if doc.get("kind") == "Application":
        found = _source(doc, file, "Application", env_hint)
        return [found] if found else []
    if doc.get("kind") != "ApplicationSet":
        return []
    spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
    template = spec.get("template") if isinstance(spec.get("template"), Mapping) else {}
    found = []
    for generator in spec.get("generators") or []:
        elements = ((generator or {}).get("list") or {}).get("elements") if isinstance(generator, Mapping) else None
        for element in elements or []:
            if isinstance(element, Mapping):
                source = _source(_fill(template, element), file, "ApplicationSet", str(element.get("env", "")))
                if source:
                    found.append(source)
    return found


def read_sources(root: Path, argocd_dir: str = ARGOCD_DIR) -> list[Source]:
    """Every Application and ApplicationSet element under argocd_dir of a checkout."""
    found: list[Source] = []
    for rel in walk_files(root, argocd_dir):
        path = inside(root, rel, what="file")
        docs = yamlio.load_all(yamlio.read_text(path, error=ConfigError), f"{rel} in the config repository",
                               error=ConfigError)
        for doc in docs:
            found.extend(sources_in(doc, rel))
    return found


def find_source(sources: list[Source], app: str, env: str) -> Source | None:
    matches = [s for s in sources if s.app == app and s.env == env]
    return matches[0] if matches else None
