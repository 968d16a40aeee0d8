"""`pipeyard chart check`: is the config repository's prod gate real, and is every synced image pinned?

Offline, from a checkout: every Application and ApplicationSet element under argocd/ is read as ArgoCD
reads it (pipeyard_kit.configrepo), and a finding is reported when
- a protected environment syncs from a branch that unprotected environments also track (CI pushes there
  directly, so its merge requests are no gate), or from the default branch;
- an environment that should be protected is not labelled so (gitops-bump would push it directly);
- an Application syncs automatically with no pinned image, or with `latest`;
- its chart or values files are missing.

With a GitLab to ask: each protected source branch must be a protected branch there that nobody may
push or force-push to (GitLab's protected branches API, doc/api/protected_branches.md).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeyard.charts.scaffold import gitlab_protection
from pipeyard_kit import configrepo, gitlab, yamlio
from pipeyard_kit.configrepo import Source
from pipeyard_kit.errors import ModelError

# GitLab's access levels (doc/api/protected_branches.md, "Valid access levels").
NO_ACCESS = 0


@dataclass(frozen=True)
class Finding:
    where: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}: {self.fix}"


@dataclass
class Audit:
    sources: list[Source]
    findings: list[Finding]

    def protected_branches(self, default_branch: str) -> list[str]:
        return sorted({s.branch(default_branch) for s in self.sources if s.protected})


def _load(root: Path, rel: str) -> Any:
    path = configrepo.inside(root, rel, what="file")
    if not path.is_file():
        return None
    try:
        return yamlio.load(yamlio.read_text(path), rel) or {}
    except ModelError:
        return None


def _pinned(root: Path, source: Source) -> tuple[str, str] | None:
    """(tag, digest) Helm would deploy for this source from the checkout, or None when the files are missing."""
    base = _load(root, f"{source.path}/values.yaml")
    if base is None:
        return None
    merged = base
    for rel in source.value_files:
        override = _load(root, f"{source.path}/{rel}")
        if override is None:
            return None
        merged = configrepo.helm_merge(merged, override)
    image = merged.get("image") if isinstance(merged, dict) and isinstance(merged.get("image"), dict) else {}
    return str(image.get("tag") or ""), str(image.get("digest") or "")


def _layout(root: Path, source: Source) -> list[Finding]:
    where = f"{source.file} ({source.app}/{source.env})"
    if not source.path or not configrepo.inside(root, f"{source.path}/Chart.yaml", what="chart").is_file():
        return [Finding(where, f"its chart {source.path or '(no path)'} has no Chart.yaml in this checkout",
                        "run `pipeyard chart init` for the app, or fix spec.source.path")]
    missing = [v for v in source.value_files if not configrepo.inside(root, f"{source.path}/{v}", what="file").is_file()]
    if missing:
        return [Finding(where, f"its values file(s) {', '.join(missing)} are missing",
                        f"add them under {source.path}, or fix spec.source.helm.valueFiles")]
    return []


def audit(root: Path, *, default_branch: str = "main", protected_environments: tuple[str, ...] = ("prod",),
          argocd_dir: str = configrepo.ARGOCD_DIR) -> Audit:
    sources = configrepo.read_sources(root, argocd_dir)
    findings: list[Finding] = []
    if not sources:
        findings.append(Finding(argocd_dir, "holds no ArgoCD Application or ApplicationSet",
                                "run `pipeyard chart init APP --image REPO:TAG` in the config repository"))
    open_branches: dict[str, list[str]] = {}
    for s in sources:
        if not s.protected and s.env not in protected_environments:
            open_branches.setdefault(s.branch(default_branch), []).append(f"{s.app}({s.env})")
    for s in sources:
        where = f"{s.file} ({s.app}/{s.env})"
        branch = s.branch(default_branch)
        should_be = s.protected or s.env in protected_environments
        if s.env in protected_environments and not s.protected:
            findings.append(Finding(where, f"{s.env} is a protected environment but the {s.kind} is not labelled "
                                           f"{configrepo.LABEL_PROTECTED}=true, so gitops-bump may push it directly",
                                    f"label it, and sync it from a protected branch such as deploy/{s.env}"))
        if should_be:
            sharing = open_branches.get(branch, [])
            if branch == default_branch or sharing:
                who = f"which {', '.join(sorted(sharing))} also track" if sharing else "the default branch"
                findings.append(Finding(where, f"protected {s.env} syncs from {branch}, {who}: CI pushes there "
                                               "directly, so its merge requests are no gate",
                                        f"set targetRevision to a branch of its own that GitLab protects (e.g. "
                                        f"deploy/{s.env}) and keep the {s.kind} on that branch"))
        layout = _layout(root, s)
        findings += layout
        if s.automated and not layout:
            pinned = _pinned(root, s)
            if pinned is not None and (not any(pinned) or (pinned[0] == "latest" and not pinned[1])):
                shown = f"tag {pinned[0]!r}" if pinned[0] else "no tag or digest"
                findings.append(Finding(where, f"syncs automatically with {shown}, an unpinned image",
                                        "pin a tag and digest (gitops-bump does), or turn automated sync off "
                                        "until the first pin"))
    return Audit(sources, findings)


def _rules(project: Any) -> list[dict[str, Any]]:
    return [r.attributes for r in project.protectedbranches.list(get_all=True)]


def check_gitlab(result: Audit, *, gitlab_url: str, project_path: str, token: str,
                 default_branch: str = "main", ca_file: str | None = None) -> list[Finding]:
    """Each protected source branch must be a GitLab protected branch nobody may push or force-push to."""
    client = gitlab.client(gitlab_url, token, what="reading the protected branches", ca_file=ca_file,
                           install="install pipeyard with the platform extra (python-gitlab)")
    hints = gitlab.Hints(token_var="GITLAB_TOKEN", token_fix="set GITLAB_TOKEN (or GITLAB_TOKEN_FILE) to a token "
                                                             "with read_api scope on the config repository",
                         role_fix="give the token at least the Maintainer role, which may read branch protections",
                         not_found_fix="pass --project with the config repository's path, and --gitlab-url")
    try:
        rules = _rules(client.projects.get(project_path, lazy=True))
    except gitlab.errors() as exc:
        raise gitlab.explain(exc, url=gitlab_url, project=project_path, what="read the protected branches",
                             hints=hints) from None
    findings = []
    for branch in result.protected_branches(default_branch):
        users = [s for s in result.sources if s.protected and s.branch(default_branch) == branch]
        where = f"branch {branch} ({', '.join(sorted({f'{s.app}({s.env})' for s in users}))})"
        matching = [r for r in rules if fnmatch.fnmatchcase(branch, str(r.get("name", "")))]
        if not matching:
            findings.append(Finding(where, f"is not a protected branch in GitLab at {gitlab_url}, so any token with "
                                           "write_repository can push to it",
                                    _fix(branch)))
            continue
        pushers = sorted({str(level.get("access_level_description") or level.get("access_level"))
                          for r in matching for level in r.get("push_access_levels") or []
                          if level.get("access_level") != NO_ACCESS})
        if pushers:
            findings.append(Finding(where, f"lets {', '.join(pushers)} push to it directly, around its merge "
                                           "requests", f"set 'Allowed to push' to No one: {_fix(branch)}"))
        if any(r.get("allow_force_push") for r in matching):
            findings.append(Finding(where, "allows force pushes", f"turn 'Allowed to force push' off: {_fix(branch)}"))
    return findings


def _fix(branch: str) -> str:
    return gitlab_protection(branch)
