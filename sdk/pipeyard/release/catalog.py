"""The templates' CI/CD catalog release: the rendered pipeline-templates/ become a commit, a tag
and a release of the component project (GitLab's CI/CD catalog publishes releases of catalog projects).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeyard.release.promote import Version
from pipeyard_kit import gitlab
from pipeyard_kit.errors import ConfigError

Echo = Callable[[str], None]
INSTALL = "install pipeyard[platform]"


def hints(token_var: str) -> gitlab.Hints:
    return gitlab.Hints(token_var=token_var,
                        role_fix="give the token api scope and at least the Maintainer role (releases, protected tags)",
                        not_found_fix="check the project path (site file: component_project) and the URL")


def client(url: str, token: str, *, what: str) -> Any:
    return gitlab.client(url, token, what=what, install=INSTALL)


def git_blob_sha(data: bytes) -> str:
    """The id GitLab's repository tree shows for a file: git's blob hash."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id


def template_files(templates: Path) -> dict[str, bytes]:
    if not (templates / "templates").is_dir():
        raise ConfigError(f"{templates} has no templates/ folder", fix="run `make render` first")
    return {str(p.relative_to(templates)): p.read_bytes() for p in sorted(templates.rglob("*")) if p.is_file()}


def commit_actions(files: dict[str, bytes], tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commits-API actions that make the repository hold exactly `files` (nothing when it already does)."""
    existing = {t["path"]: t["id"] for t in tree if t.get("type") == "blob"}
    actions: list[dict[str, Any]] = []
    for path, data in sorted(files.items()):
        if existing.get(path) == git_blob_sha(data):
            continue
        actions.append({"action": "update" if path in existing else "create", "file_path": path,
                        "content": data.decode("utf-8")})
    for path in sorted(set(existing) - set(files)):
        actions.append({"action": "delete", "file_path": path})
    return actions


def release_notes(version: Version, component_project: str, components: list[str],
                  images: list[dict[str, Any]]) -> str:
    lines = [f"pipeyard {version.text}: GitLab CI/CD components and provider images.", "", "## Components", ""]
    lines += [f"- `{component_project}/{c}@{version.text}`" for c in components]
    if images:
        lines += ["", "## Images", "", f"Tagged {', '.join(version.tags)} (a variant's with its suffix, "
                  f"{version.text}-<variant>); pin the digest for reproducible jobs.", ""]
        lines += [f"- `{i['reference']}:{version.text}{'-' + i['variant'] if i.get('variant') else ''}@{i['digest']}`"
                  for i in images]
    return "\n".join(lines) + "\n"


@dataclass
class CatalogResult:
    project: str
    tag: str
    commit: str
    release: str  # created | exists
    changed_files: int

    def line(self) -> str:
        files = f"{self.changed_files} template files committed" if self.changed_files else "templates unchanged"
        return f"catalog release {self.tag} of {self.project}: {self.release} ({files}; commit {self.commit[:12]})"


def _get_or_none(manager: Any, ident: str) -> Any:
    import gitlab as python_gitlab

    try:
        return manager.get(ident)
    except python_gitlab.exceptions.GitlabGetError as exc:
        if exc.response_code == 404:
            return None
        raise


def publish_catalog(gl: Any, project_path: str, version: Version, templates: Path, *, notes: str,
                    echo: Echo = print, url: str = "", token_var: str = "PIPEYARD_GITLAB_TOKEN") -> CatalogResult:
    """Commit the templates to the component project's default branch, then release the version there.

    Idempotent: an existing tag keeps its content (a release is never rewritten), an existing release
    is left as it is, and unchanged files are not committed again.
    """
    files = template_files(templates)
    step = "read the component project"
    try:
        project = gl.projects.get(project_path)
        branch = project.default_branch or "main"
        step = f"read tag {version.text}"
        tag = _get_or_none(project.tags, version.text)
        changed = 0
        if tag is not None:
            commit = tag.commit["id"]
        else:
            step = f"list the files of {branch}"
            tree = project.repository_tree(ref=branch, recursive=True, get_all=True)
            actions = commit_actions(files, tree)
            if actions:
                step = f"commit the templates to {branch}"
                created = project.commits.create({"branch": branch, "actions": actions,
                                                  "commit_message": f"pipeyard {version.text}: release the templates"})
                commit = created.id
                changed = len(actions)
            else:
                step = f"read the head of {branch}"
                commit = project.commits.get(branch).id
        step = f"read release {version.text}"
        existing = _get_or_none(project.releases, version.text)
        if existing is not None:
            state = "exists"
        else:
            step = f"create release {version.text}"
            project.releases.create({"tag_name": version.text, "ref": commit, "name": f"pipeyard {version.text}",
                                     "description": notes})
            state = "created"
    except gitlab.errors() as exc:
        raise gitlab.explain(exc, url=url or gl.url, project=project_path, what=step, hints=hints(token_var)) from None
    result = CatalogResult(project_path, version.text, commit, state, changed)
    echo(result.line())
    return result


def component_names(templates: Path) -> list[str]:
    return sorted(p.stem if p.suffix == ".yml" else p.name for p in (templates / "templates").iterdir()
                  if p.suffix == ".yml" or (p / "template.yml").is_file())
