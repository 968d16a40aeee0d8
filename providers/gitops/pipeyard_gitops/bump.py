"""Pin an image in one environment's values file: commit and push, or go through a merge request.

Concurrent pipelines bump the same config repository (several apps, several
environments), so a push can lose the race. The loser fetches the new tip, applies
its edit again and retries, a bounded number of times with jittered backoff. A bump
to what is already there commits nothing, so a rerun job is harmless.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeyard_gitops.git import Git, GitFailure, display_url, explain, is_race
from pipeyard_gitops.mergerequest import MergeRequestTarget, ensure_merge_request
from pipeyard_gitops.values import Edit, set_image
from pipeyard_kit.errors import ConfigError, RemoteError
from pipeyard_kit.refs import ImageRef

log = logging.getLogger("pipeyard.gitops")

WORK_BRANCH = "gitops-bump"


@dataclass(frozen=True)
class Provenance:
    """Where the image came from, for the commit message: the pipeline and the commit that built it."""

    pipeline_url: str = ""
    commit_url: str = ""
    user: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Provenance:
        project, sha = env.get("CI_PROJECT_URL", ""), env.get("CI_COMMIT_SHA", "")
        return cls(pipeline_url=env.get("CI_PIPELINE_URL", ""),
                   commit_url=f"{project}/-/commit/{sha}" if project and sha else "",
                   user=env.get("GITLAB_USER_LOGIN", ""))


@dataclass(frozen=True)
class BumpRequest:
    repo_url: str
    branch: str
    username: str
    token: str = field(repr=False)
    app: str = ""
    environment: str = ""
    image: ImageRef = field(default_factory=lambda: ImageRef("", ""))
    values_path: str = ""
    author_name: str = "pipeyard gitops"
    author_email: str = "gitops@pipeyard.invalid"
    retries: int = 5
    provenance: Provenance = field(default_factory=Provenance)
    merge_request: MergeRequestTarget | None = None
    ca_file: str | None = None
    dry_run: bool = False

    @property
    def title(self) -> str:
        return f"{self.app}({self.environment}): deploy {self.image.tag}"

    @property
    def mr_branch(self) -> str:
        return f"gitops/{self.app}/{self.environment}"


@dataclass
class BumpResult:
    outcome: str  # unchanged | pushed | merge-request | dry-run
    old_tag: str = ""
    commit: str = ""
    url: str = ""
    attempts: int = 1
    diff: str = ""


def commit_message(req: BumpRequest, old_tag: str) -> str:
    lines = [req.title, "", f"Image: {req.image}"]
    if old_tag:
        lines.append(f"Previous tag: {old_tag}")
    lines.append(f"Pipeline: {req.provenance.pipeline_url or '(not run in a GitLab pipeline)'}")
    if req.provenance.commit_url:
        lines.append(f"Built from: {req.provenance.commit_url}")
    if req.provenance.user:
        lines.append(f"Triggered-by: {req.provenance.user}")
    return "\n".join(lines) + "\n"


def _backoff(attempt: int) -> float:
    # Jitter keeps two losers of the same race from colliding again on the retry.
    return min(8.0, 0.25 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


def _checkout(git: Git, req: BumpRequest) -> None:
    if not git.fetch(req.branch):
        raise ConfigError(f"the config repository {display_url(req.repo_url)} has no branch '{req.branch}'",
                          fix="set GITOPS_BRANCH to the branch ArgoCD tracks")
    git.run("checkout", "-q", "-f", "-B", WORK_BRANCH, f"refs/remotes/origin/{req.branch}")


def _apply(git: Git, req: BumpRequest) -> Edit:
    path = git.workdir / req.values_path
    if not path.is_file():
        app_dir = path.parent
        known = sorted(p.name[len("values-"):-len(".yaml")] for p in app_dir.glob("values-*.yaml"))
        if not app_dir.is_dir():
            raise ConfigError(f"the config repository has no app folder {req.values_path.rsplit('/', 1)[0]}",
                              fix=f"run `pipeyard chart init {req.app} --image {req.image.repository}` in the "
                                  "config repository and push it, or check GITOPS_APP and GITOPS_APPS_DIR")
        raise ConfigError(f"the config repository has no {req.values_path} (environment '{req.environment}'; "
                          f"values exist for: {', '.join(known) or 'none'})",
                          fix="check GITOPS_ENVIRONMENT, or add the values file to the config repository")
    edit = set_image(path.read_text(encoding="utf-8"), req.image, where=req.values_path)
    current = _current_repository(edit)
    if current and current != req.image.repository:
        log.warning("%s pins image.repository %s; the bumped image is from %s (only tag and digest change)",
                    req.values_path, current, req.image.repository)
    if edit.changed:
        path.write_text(edit.text, encoding="utf-8")
    return edit


def _current_repository(edit: Edit) -> str:
    data = yaml.safe_load(edit.text) or {}
    image = data.get("image") if isinstance(data, dict) else None
    return str(image.get("repository") or "") if isinstance(image, dict) else ""


def _commit(git: Git, req: BumpRequest, edit: Edit) -> str:
    git.run("add", "--", req.values_path)
    git.run("commit", "-q", "-F", "-", input=commit_message(req, edit.old_tag))
    return git.head()


def _push_direct(git: Git, req: BumpRequest) -> BumpResult:
    attempts = req.retries + 1
    for attempt in range(1, attempts + 1):
        _checkout(git, req)
        edit = _apply(git, req)
        if not edit.changed:
            return BumpResult("unchanged", old_tag=edit.old_tag, attempts=attempt)
        if req.dry_run:
            return BumpResult("dry-run", old_tag=edit.old_tag, diff=git.run("diff"), attempts=attempt)
        commit = _commit(git, req, edit)
        try:
            git.run("push", "-q", "origin", f"HEAD:refs/heads/{req.branch}")
        except GitFailure as exc:
            if not is_race(exc):
                raise
            log.debug("git said: %s", exc.output.strip())
            if attempt == attempts:
                break
            delay = _backoff(attempt)
            log.info("push to %s lost a race with another bump; fetching and retrying in %.1fs (attempt %d of %d)",
                     req.branch, delay, attempt + 1, attempts)
            time.sleep(delay)
            continue
        return BumpResult("pushed", old_tag=edit.old_tag, commit=commit, attempts=attempt)
    raise RemoteError(f"the push to {req.branch} was rejected {attempts} times: other pipelines kept moving the branch",
                      fix="rerun the job, or raise GITOPS_PUSH_RETRIES")


def _via_merge_request(git: Git, req: BumpRequest, target: MergeRequestTarget) -> BumpResult:
    _checkout(git, req)
    edit = _apply(git, req)
    if not edit.changed:
        return BumpResult("unchanged", old_tag=edit.old_tag)
    if req.dry_run:
        return BumpResult("dry-run", old_tag=edit.old_tag, diff=git.run("diff"))
    commit = _commit(git, req, edit)
    if git.fetch(req.mr_branch) and _same_file(git, req):
        log.info("%s already proposes %s", req.mr_branch, req.image)
        commit = git.run("rev-parse", f"refs/remotes/origin/{req.mr_branch}").strip()
    else:
        # The branch belongs to this job: one open proposal per app and environment, the newest image wins.
        git.run("push", "-q", "--force", "origin", f"HEAD:refs/heads/{req.mr_branch}")
    body = commit_message(req, edit.old_tag).split("\n", 2)[2]
    url = ensure_merge_request(target, source=req.mr_branch, branch=req.branch, title=req.title,
                               description=body.replace("\n", "  \n"))
    return BumpResult("merge-request", old_tag=edit.old_tag, commit=commit, url=url)


def _same_file(git: Git, req: BumpRequest) -> bool:
    try:
        proposed = git.run("show", f"refs/remotes/origin/{req.mr_branch}:{req.values_path}")
    except GitFailure:
        return False
    return proposed == (git.workdir / req.values_path).read_text(encoding="utf-8")


def bump(req: BumpRequest, workdir: Path) -> BumpResult:
    git = Git(workdir=workdir / "repo", url=req.repo_url, username=req.username, token=req.token, home=workdir,
              ca_file=req.ca_file, author_name=req.author_name, author_email=req.author_email)
    try:
        git.init()
        if req.merge_request is not None:
            return _via_merge_request(git, req, req.merge_request)
        return _push_direct(git, req)
    except GitFailure as exc:
        raise explain(exc, url=req.repo_url, branch=req.branch) from None
