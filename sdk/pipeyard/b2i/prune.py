"""`pipeyard b2i prune`: keep the last N images of every app, and never the one that runs.

The original platform kept every build forever. On the embedded registry prune deletes the older
manifests itself (a tag's digest, with every tag on it, goes at once, so a digest is kept when any
of its tags must stay). On Harbor it sets retention rules for the b2i/** repositories, and Harbor's
own scheduled job does the deleting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeyard_kit.errors import RemoteError, UsageError
from pipeyard_kit.registry import RegistryClient, Target
from pipeyard_kit.registry.oci import MANIFEST_TYPES, sha256_digest

APPS = "b2i"
# Always kept: what a Deployment without a pinned tag runs.
ALWAYS = ("latest",)


@dataclass(frozen=True)
class Tagged:
    tag: str
    digest: str
    created: str  # RFC 3339 from the image config; sorts as text


@dataclass
class AppPlan:
    repository: str
    keep: list[Tagged] = field(default_factory=list)
    delete: list[Tagged] = field(default_factory=list)

    @property
    def delete_digests(self) -> list[str]:
        return sorted({t.digest for t in self.delete})


def plan(repository: str, tagged: list[Tagged], keep: int, running: set[str]) -> AppPlan:
    """Newest `keep` digests stay, so does any digest carrying a running or always-kept tag."""
    by_digest: dict[str, list[Tagged]] = {}
    for t in tagged:
        by_digest.setdefault(t.digest, []).append(t)
    order = sorted(by_digest, key=lambda d: (max(t.created for t in by_digest[d]), d), reverse=True)
    protected = running | set(ALWAYS)
    result = AppPlan(repository)
    for i, digest in enumerate(order):
        tags = by_digest[digest]
        stays = i < keep or any(t.tag in protected for t in tags)
        (result.keep if stays else result.delete).extend(sorted(tags, key=lambda t: t.tag))
    return result


# -- the embedded (or any distribution) registry ---------------------------------------------------
def _json(client: RegistryClient, path: str, repo: str, what: str) -> Any:
    r = client.request("GET", path, repo=repo, what=what)
    try:
        return r.json()
    finally:
        r.close()


def app_repositories(client: RegistryClient, target: Target, app: str | None) -> list[str]:
    prefix = target.repository(APPS) + "/"
    if app:
        return [prefix + app]
    repos: list[str] = []
    path = "/v2/_catalog?n=1000"
    while path:
        r = client.request("GET", path, repo="", what="list repositories (/v2/_catalog)")
        repos += [n for n in (r.json().get("repositories") or []) if n.startswith(prefix)]
        link = r.headers.get("Link", "")
        r.close()
        path = link.split(";")[0].strip("<> ") if "rel=\"next\"" in link else ""
    return sorted(repos)


def _created(client: RegistryClient, repo: str, manifest: bytes) -> str:
    data = json.loads(manifest)
    config = (data.get("config") or {}).get("digest")
    if not config:
        return ""
    blob = b"".join(client.blob_stream(repo, config))
    return str(json.loads(blob).get("created") or "")


def read_tags(client: RegistryClient, repo: str) -> list[Tagged]:
    r = client.request("GET", f"/v2/{repo}/tags/list", repo=repo, ok=(200, 404), what=f"list tags of {repo}")
    tags = (r.json().get("tags") or []) if r.status_code == 200 else []
    r.close()
    out, created_by_digest = [], {}
    for tag in sorted(tags):
        manifest, _ = client.get_manifest(repo, tag)
        digest = sha256_digest(manifest)
        if digest not in created_by_digest:
            created_by_digest[digest] = _created(client, repo, manifest)
        out.append(Tagged(tag, digest, created_by_digest[digest]))
    return out


def delete_manifest(client: RegistryClient, repo: str, digest: str) -> None:
    r = client.request("DELETE", f"/v2/{repo}/manifests/{digest}", repo=repo, ok=(202, 404, 405),
                       headers={"Accept": ", ".join(MANIFEST_TYPES)}, what=f"delete {repo}@{digest[:19]}")
    r.close()
    if r.status_code == 405:
        raise RemoteError(f"registry {client.host} does not allow deletes",
                          fix="enable storage.delete in the registry's config")


def prune_registry(client: RegistryClient, target: Target, *, keep: int, running: set[str], app: str | None,
                   dry_run: bool = False) -> list[AppPlan]:
    if keep < 1:
        raise UsageError(f"--keep {keep} would delete every image", fix="keep at least 1")
    plans = []
    for repo in app_repositories(client, target, app):
        p = plan(repo, read_tags(client, repo), keep, running)
        if not dry_run:
            for digest in p.delete_digests:
                delete_manifest(client, repo, digest)
        plans.append(p)
    return plans


# -- Harbor: retention rules, applied by Harbor's scheduled job ------------------------------------
B2I_SCOPE = {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": f"{APPS}/**"}]}
TAGGED = json.dumps({"untagged": False}, separators=(",", ":"))


def _rule(template: str, params: dict[str, int], pattern: str) -> dict[str, Any]:
    return {"disabled": False, "action": "retain", "template": template, "params": params,
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": pattern, "extras": TAGGED}],
            "scope_selectors": B2I_SCOPE}


def harbor_rules(keep: int, running: set[str]) -> list[dict[str, Any]]:
    protected = sorted(running | set(ALWAYS))
    pattern = protected[0] if len(protected) == 1 else "{" + ",".join(protected) + "}"
    return [_rule("latestPushedK", {"latestPushedK": keep}, "**"), _rule("always", {}, pattern)]


def _is_b2i(rule: dict[str, Any]) -> bool:
    """A rule prune owns: it selects b2i/** with repoMatches. `pipeyard publish`'s rules name the same
    pattern with repoExcludes (they cover everything BUT the apps) and are not prune's to replace."""
    scopes = (rule.get("scope_selectors") or {}).get("repository") or []
    return bool(scopes) and all(s.get("pattern") == f"{APPS}/**" and s.get("decoration") == "repoMatches"
                                for s in scopes)


def merge_policy(current: dict[str, Any] | None, project_id: int, keep: int, running: set[str]) -> dict[str, Any]:
    """The project's policy with its b2i/** rules replaced; rules for other repositories stay."""
    base = current or {"algorithm": "or", "rules": [],
                       "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}, "references": {}},
                       "scope": {"level": "project", "ref": project_id}}
    others = [r for r in base.get("rules") or [] if not _is_b2i(r)]
    from pipeyard.publish.harbor.policies import check_rule_count

    return check_rule_count({**base, "rules": others + harbor_rules(keep, running)})


def prune_harbor(harbor: Any, project: str, *, keep: int, running: set[str]) -> str:
    """Create or update the project's retention policy; returns what changed, in one line."""
    if keep < 1:
        raise UsageError(f"--keep {keep} would delete every image", fix="keep at least 1")
    info = harbor.project(project)
    project_id = int(info["project_id"])
    policy_id = (info.get("metadata") or {}).get("retention_id")
    current = harbor.retention(int(policy_id)) if policy_id else None
    wanted = merge_policy(current, project_id, keep, running)
    detail = f"b2i/**: newest {keep} pushed, always {', '.join(sorted(running | set(ALWAYS)))}"
    if current is None:
        harbor.create_retention(wanted)
        return f"created the retention policy of {project}: {detail}"
    from pipeyard.publish.harbor.policies import same_retention

    if same_retention(current, wanted):
        return f"retention of {project} unchanged: {detail}"
    harbor.update_retention(int(policy_id), {**wanted, "id": int(policy_id)})
    return f"updated the retention policy of {project}: {detail}"
