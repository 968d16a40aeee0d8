"""The templates' CI/CD catalog release: the rendered pipeline-templates/ become a commit and a version
tag of the component project, whose own tag pipeline publishes the catalog version.

GitLab publishes a catalog version only from a job with the `release:` keyword in the component
project: the runner's release step (glab `release create --publish-to-catalog`, or release-cli) creates
the release and calls POST /projects/:id/catalog/publish with the job's CI_JOB_TOKEN (gitlab-org/cli
MR 1745, gitlab-org/release-cli MR 184, lib/api/ci/catalog.rb). A release made through the Releases
API does not publish where the `ci_release_cli_catalog_publish_option` behaviour is on
(app/services/releases/create_service.rb publish_catalog?). So pipeyard keeps a release job in the
component project's .gitlab-ci.yml, commits the templates, pushes an annotated tag whose message is
the release notes, and waits for that pipeline's release to appear.

Only the component project's templates/ and the files pipeyard renders are pipeyard's: nothing else
of the project (its .gitlab-ci.yml above all) is ever deleted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeyard.release.promote import Version
from pipeyard_kit import gitlab, yamlio
from pipeyard_kit.errors import ConfigError, ModelError, RemoteError

Echo = Callable[[str], None]
INSTALL = "install pipeyard[platform]"
PIPELINE_FILE = ".gitlab-ci.yml"
MARKER = "pipeyard:catalog-release"
# The glab image GitLab's own catalog documentation uses for the release job (doc/ci/components,
# "Publish a new release"); a site points it at its registry's mirror with --release-image.
RELEASE_IMAGE = "registry.gitlab.com/gitlab-org/cli:latest"


def hints(token_var: str) -> gitlab.Hints:
    return gitlab.Hints(token_var=token_var,
                        role_fix="give the token api scope and at least the Maintainer role (protected tags)",
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


def release_pipeline(image: str = RELEASE_IMAGE, runner_tags: tuple[str, ...] = ("k8s-runner",)) -> str:
    """The component project's .gitlab-ci.yml: one job that releases each version tag pipeyard pushes."""
    tags = ", ".join(runner_tags)
    return f"""\
# Written by `pipeyard release catalog`, which rewrites it on each release while the marker
# {MARKER} is in this comment; remove the marker to keep your own edits (and a job with `release:`).
# GitLab publishes a CI/CD catalog version only from a job with `release:` in this project. On each
# version tag pipeyard pushes, this job creates the release (its notes are the tag's message), and the
# runner's release step publishes it to the catalog with the job's CI_JOB_TOKEN.
catalog-release:
  stage: deploy
  image: {image}
  tags: [{tags}]
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - echo "Releasing $CI_COMMIT_TAG of the components in $CI_PROJECT_PATH"
  release:
    tag_name: $CI_COMMIT_TAG
    name: pipeyard $CI_COMMIT_TAG
    description: $CI_COMMIT_TAG_MESSAGE
"""


def has_release_job(text: str) -> bool:
    """A job of the pipeline that has the `release:` keyword."""
    try:
        doc = yamlio.load(text, ".gitlab-ci.yml") or {}
    except ModelError:
        return False
    return isinstance(doc, dict) and any(isinstance(v, dict) and "release" in v for k, v in doc.items()
                                         if not str(k).startswith("."))


def commit_actions(files: dict[str, bytes], tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commits-API actions that make the repository hold `files`: new and changed files, and the
    components (templates/) pipeyard no longer renders. Nothing outside templates/ is deleted."""
    existing = {t["path"]: t["id"] for t in tree if t.get("type") == "blob"}
    actions: list[dict[str, Any]] = []
    for path, data in sorted(files.items()):
        if existing.get(path) == git_blob_sha(data):
            continue
        actions.append({"action": "update" if path in existing else "create", "file_path": path,
                        "content": data.decode("utf-8")})
    for path in sorted(set(existing) - set(files)):
        if path.startswith("templates/"):
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
    release: str  # published | tagged | exists
    changed_files: int

    def line(self) -> str:
        files = f"{self.changed_files} files committed" if self.changed_files else "templates unchanged"
        state = {"published": "released by the project's release job, which publishes it to the CI/CD catalog",
                 "tagged": "tagged; the project's release job publishes it to the CI/CD catalog",
                 "exists": "already released"}[self.release]
        return f"catalog release {self.tag} of {self.project}: {state} ({files}; commit {self.commit[:12]})"


def _get_or_none(manager: Any, ident: str) -> Any:
    import gitlab as python_gitlab

    try:
        return manager.get(ident)
    except python_gitlab.exceptions.GitlabGetError as exc:
        if exc.response_code == 404:
            return None
        raise


def _pipeline_file(project: Any, branch: str, tree: list[dict[str, Any]], wanted: str) -> str | None:
    """The .gitlab-ci.yml content to commit, or None to leave the project's own (which has a release job)."""
    if not any(t.get("path") == PIPELINE_FILE and t.get("type") == "blob" for t in tree):
        return wanted
    current = project.files.raw(file_path=PIPELINE_FILE, ref=branch)
    text = current.decode("utf-8", "replace") if isinstance(current, bytes) else str(current)
    if MARKER in text:
        return wanted
    if has_release_job(text):
        return None
    raise ConfigError(f"the component project's {PIPELINE_FILE} has no job with `release:`, and GitLab publishes "
                      "catalog versions only from one",
                      fix=f"add a job with `release:` that runs on tags (`pipeyard release catalog "
                          f"--show-release-job` prints the one pipeyard writes when there is no file), or put "
                          f"'{MARKER}' in a comment of the file to let pipeyard manage it")


def publish_catalog(gl: Any, project_path: str, version: Version, templates: Path, *, notes: str,
                    echo: Echo = print, url: str = "", token_var: str = "PIPEYARD_GITLAB_TOKEN",
                    release_image: str = RELEASE_IMAGE, runner_tags: tuple[str, ...] = ("k8s-runner",),
                    wait: float = 600.0, poll: float = 5.0,
                    sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> CatalogResult:
    """Commit the templates (and the release job) to the default branch, tag the version, and wait up to
    `wait` seconds for the tag pipeline's release.

    Idempotent: an existing tag keeps its content (a release is never rewritten), an existing release is
    left as it is, and unchanged files are not committed again.
    """
    files = template_files(templates)
    step = "read the component project"
    try:
        project = gl.projects.get(project_path)
        branch = project.default_branch or "main"
        if not (getattr(project, "description", "") or "").strip():
            # Ci::Catalog::Resources::ValidateService: no version without a project description.
            raise ConfigError(f"the component project {project_path} has no description, and the CI/CD catalog "
                              "refuses to publish a version without one",
                              fix="set the project description under Settings > General, then run again")
        step = f"read release {version.text}"
        if _get_or_none(project.releases, version.text) is not None:
            tag = _get_or_none(project.tags, version.text)
            result = CatalogResult(project_path, version.text, tag.commit["id"] if tag else "", "exists", 0)
            echo(result.line())
            return result
        step = f"read tag {version.text}"
        tag = _get_or_none(project.tags, version.text)
        changed = 0
        if tag is not None:
            commit = tag.commit["id"]
        else:
            step = f"list the files of {branch}"
            tree = project.repository_tree(ref=branch, recursive=True, get_all=True)
            pipeline = _pipeline_file(project, branch, tree, release_pipeline(release_image, runner_tags))
            wanted = {**files, **({PIPELINE_FILE: pipeline.encode()} if pipeline is not None else {})}
            actions = commit_actions(wanted, tree)
            if actions:
                step = f"commit the templates to {branch}"
                created = project.commits.create({"branch": branch, "actions": actions,
                                                  "commit_message": f"pipeyard {version.text}: release the templates"})
                commit = created.id
                changed = len(actions)
            else:
                step = f"read the head of {branch}"
                commit = project.commits.get(branch).id
            step = f"create tag {version.text}"
            # Annotated: the release job takes the notes from CI_COMMIT_TAG_MESSAGE.
            project.tags.create({"tag_name": version.text, "ref": commit, "message": notes})
        state = "tagged"
        if wait > 0:
            step = f"wait for the tag pipeline of {version.text}"
            _wait_for_release(project, project_path, version.text, wait, poll, sleep, clock)
            state = "published"
    except gitlab.errors() as exc:
        raise gitlab.explain(exc, url=url or gl.url, project=project_path, what=step, hints=hints(token_var)) from None
    result = CatalogResult(project_path, version.text, commit, state, changed)
    echo(result.line())
    return result


FINISHED = {"success", "failed", "canceled", "skipped"}


def _wait_for_release(project: Any, project_path: str, tag: str, wait: float, poll: float,
                      sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
    """Until the tag's pipeline (whose release job publishes the version) has finished, and succeeded."""
    deadline = clock() + wait
    web = getattr(project, "web_url", project_path)
    while True:
        runs = project.pipelines.list(ref=tag, get_all=False, per_page=5)
        status = runs[0].status if runs else ""
        if status == "success" and _get_or_none(project.releases, tag) is not None:
            return
        if status in FINISHED and status != "success":
            raise RemoteError(f"the tag pipeline of {project_path} for {tag} ended {status}, so the catalog has no "
                              f"{tag}", fix=f"open {runs[0].web_url}: its catalog-release job creates the release and "
                                            "publishes the version (rerun it once fixed)")
        if clock() >= deadline:
            raise RemoteError(f"the tag pipeline of {project_path} has not released {tag} after {wait:g} s",
                              fix=f"open {web}/-/pipelines?ref={tag}: its catalog-release job publishes the "
                                  "version (rerun it if it failed)")
        sleep(poll)


def component_names(templates: Path) -> list[str]:
    return sorted(p.stem if p.suffix == ".yml" else p.name for p in (templates / "templates").iterdir()
                  if p.suffix == ".yml" or (p / "template.yml").is_file())
