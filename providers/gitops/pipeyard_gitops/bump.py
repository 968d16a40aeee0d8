"""Pin an image in one environment's values file: commit and push, or go through a merge request.

Where the change goes is read from the config repository itself: the environment's Application says
which branch ArgoCD syncs it from and whether it is protected. A protected environment changes only
through a merge request into its branch; no environment's bump is ever pushed straight into a branch
a protected Application syncs from.

Every attempt starts from a fresh fetch and checks again, before it writes anything, that:
- every path it touches stays inside the checkout (no '..', no symbolic link);
- the image comes from the repository Helm deploys for that environment (values.yaml merged with
  values-<env>.yaml), unless GITOPS_SET_REPOSITORY switches it;
- the image is not older than what is deployed, or than what the open merge request proposes,
  unless GITOPS_ALLOW_DOWNGRADE asks for a rollback (see order.py).

Concurrent pipelines bump the same config repository (several apps, several environments), so a push
can lose the race. The loser fetches the new tip, applies its edit again and retries with jittered
backoff. Only a push that found the branch moved counts against GITOPS_PUSH_RETRIES: each of those
means another bump landed in between, so with N bumps at once no bump loses more than N-1 times. A
bump to what is already there commits nothing, so a rerun job is harmless.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeyard_gitops.git import Git, GitFailure, display_url, explain, race_kind
from pipeyard_gitops.mergerequest import MergeRequestTarget, ensure_merge_request
from pipeyard_gitops.order import Pin, Verdict, compare
from pipeyard_gitops.values import Deployed, check_image_block, deployed, pin_image
from pipeyard_gitops.yamledit import Document, Editor
from pipeyard_kit import configrepo, yamlio
from pipeyard_kit.configrepo import Source
from pipeyard_kit.errors import ConfigError, RemoteError
from pipeyard_kit.refs import ImageRef

log = logging.getLogger("pipeyard.gitops")

WORK_BRANCH = "gitops-bump"
ROLLBACK_FIX = "rerun with GITOPS_ALLOW_DOWNGRADE=true (or --allow-downgrade)"


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
    apps_dir: str = configrepo.APPS_DIR
    argocd_dir: str = configrepo.ARGOCD_DIR
    author_name: str = "pipeyard gitops"
    author_email: str = "gitops@pipeyard.invalid"
    retries: int = 10
    provenance: Provenance = field(default_factory=Provenance)
    # CI_PIPELINE_IID of the pipeline that built the image, recorded as image.pipeline.
    pipeline: int | None = None
    allow_downgrade: bool = False
    set_repository: bool = False
    # GITOPS_PROTECTED_ENVIRONMENTS; the config repository may protect more, never fewer.
    protected_environments: tuple[str, ...] = ("prod",)
    gitlab: MergeRequestTarget | None = None
    ca_file: str | None = None
    dry_run: bool = False

    @property
    def values_path(self) -> str:
        return f"{self.apps_dir}/{self.app}/{configrepo.values_file(self.environment)}"

    @property
    def base_values_path(self) -> str:
        return f"{self.apps_dir}/{self.app}/values.yaml"

    @property
    def pin(self) -> Pin:
        return Pin(self.image.tag, self.image.digest, self.pipeline)

    @property
    def mr_branch(self) -> str:
        return f"gitops/{self.app}/{self.environment}"


@dataclass(frozen=True)
class Route:
    """Where this environment's change goes: the branch ArgoCD syncs it from, directly or by merge request."""

    branch: str
    protected: bool
    source: Source | None


@dataclass
class Change:
    changed: bool
    before: Pin
    verdict: Verdict
    rollback: bool = False
    sync_started: bool = False
    repository_switched: str = ""
    files: list[str] = field(default_factory=list)


@dataclass
class BumpResult:
    outcome: str  # unchanged | pushed | merge-request | dry-run
    before: Pin = field(default_factory=lambda: Pin(""))
    commit: str = ""
    url: str = ""
    attempts: int = 1
    diff: str = ""
    branch: str = ""
    rollback: bool = False
    sync_started: bool = False
    # The merge-request branch moved on after this bump's push: a newer bump's proposal replaced it.
    superseded: bool = False

    @property
    def old_tag(self) -> str:
        return self.before.tag


# --- the commit ------------------------------------------------------------------------------------------
def title(req: BumpRequest, change: Change) -> str:
    if change.rollback:
        return f"{req.app}({req.environment}): roll back to {req.image.tag}"
    return f"{req.app}({req.environment}): deploy {req.image.tag}"


def commit_message(req: BumpRequest, change: Change) -> str:
    lines = [title(req, change), "", f"Image: {req.image}"]
    if change.before.tag:
        lines.append(f"Previous tag: {change.before.tag}")
    if change.rollback:
        lines.append(f"Rollback: from {change.before} to {req.pin}, on purpose (GITOPS_ALLOW_DOWNGRADE)")
    if change.repository_switched:
        lines.append(f"Repository: switched from {change.repository_switched} (GITOPS_SET_REPOSITORY)")
    if change.sync_started:
        lines.append("ArgoCD: automated sync starts with this first pinned image")
    pipeline = req.provenance.pipeline_url or "(not run in a GitLab pipeline)"
    lines.append(f"Pipeline: {pipeline}" + (f" (#{req.pipeline})" if req.pipeline is not None else ""))
    if req.provenance.commit_url:
        lines.append(f"Built from: {req.provenance.commit_url}")
    if req.provenance.user:
        lines.append(f"Triggered-by: {req.provenance.user}")
    return "\n".join(lines) + "\n"


def _backoff(attempt: int, kind: str) -> float:
    # Jitter keeps two losers of the same race from colliding again on the retry. A held lock clears in
    # the time one push takes, so it is retried sooner than a branch that moved.
    base = 0.05 if kind == "busy" else 0.1
    return min(2.0, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


class _Attempts:
    """The retry budget: pushes that found the branch moved count; a held lock costs only a bounded extra try."""

    def __init__(self, req: BumpRequest, branch: str):
        self.req, self.branch = req, branch
        self.moved = 0
        self.count = 0

    def next(self) -> int:
        self.count += 1
        return self.count

    def lost(self, failure: GitFailure) -> None:
        kind = race_kind(failure)
        if kind is None:
            raise explain(failure, url=self.req.repo_url, branch=self.branch) from None
        log.debug("git said: %s", failure.output.strip())
        self.moved += kind == "moved"
        if self.moved > self.req.retries or self.count >= 3 * (self.req.retries + 1):
            raise RemoteError(f"the push to {self.branch} was rejected {self.count} times: other pipelines kept "
                              "moving the branch", fix="rerun the job, serialise the deploy jobs with a "
                                                       "resource_group, or raise GITOPS_PUSH_RETRIES")
        delay = _backoff(self.count, kind)
        why = "lost a race with another bump" if kind == "moved" else "found the branch locked by another push"
        log.info("push to %s %s; fetching and retrying in %.1fs (attempt %d)", self.branch, why, delay,
                 self.count + 1)
        time.sleep(delay)


# --- reading and editing the checkout -------------------------------------------------------------------
def _read(git: Git, rel: str, *, what: str) -> str | None:
    path = configrepo.inside(git.workdir, rel, what=what)
    if not path.exists():
        return None
    if not path.is_file():
        raise ConfigError(f"{rel} in the config repository is not a file", fix=f"make {rel} a values file")
    return path.read_text(encoding="utf-8")


def _write(git: Git, rel: str, text: str, *, what: str) -> None:
    configrepo.inside(git.workdir, rel, what=what).write_text(text, encoding="utf-8")


def _missing_values(git: Git, req: BumpRequest) -> ConfigError:
    app_rel = f"{req.apps_dir}/{req.app}"
    app_dir = configrepo.inside(git.workdir, app_rel, what="app folder")
    if not app_dir.is_dir():
        return ConfigError(f"the config repository has no app folder {app_rel}",
                           fix=f"run `pipeyard chart init {req.app} --image {req.image.repository}:{req.image.tag}` "
                               "in the config repository and push it, or check GITOPS_APP and GITOPS_APPS_DIR")
    known = sorted(p.name[len("values-"):-len(".yaml")] for p in app_dir.glob("values-*.yaml"))
    return ConfigError(f"the config repository has no {req.values_path} (environment '{req.environment}'; "
                       f"values exist for: {', '.join(known) or 'none'})",
                       fix="check GITOPS_ENVIRONMENT, or add the values file to the config repository")


def _load(text: str | None, where: str) -> object:
    if text is None:
        return {}
    return yamlio.load(text, where, error=ConfigError) or {}


def _deployed(req: BumpRequest, base: str | None, env_data: object) -> Deployed:
    return deployed(_load(base, req.base_values_path), env_data, base_file=req.base_values_path,
                    env_file=req.values_path)


def _check_repository(req: BumpRequest, now: Deployed) -> str | None:
    """The repository to write into values-<env>.yaml, if any; refuses an image Helm would mislabel."""
    image_repo = req.image.repository
    if req.set_repository:
        return image_repo if now.repository_from != req.values_path or now.repository != image_repo else None
    if not now.repository:
        raise ConfigError(f"neither {req.base_values_path} nor {req.values_path} sets image.repository, so "
                          f"{req.image} cannot be checked against what {req.environment} deploys",
                          fix="add image.repository to values.yaml, or set GITOPS_SET_REPOSITORY=true to write it")
    if now.repository != image_repo:
        raise ConfigError(f"GITOPS_IMAGE is from {image_repo}, but {req.app} in {req.environment} deploys "
                          f"{now.repository} (image.repository in {now.repository_from}): its digest would be "
                          f"pulled from the wrong repository",
                          fix=f"publish the image to {now.repository}, or set GITOPS_SET_REPOSITORY=true to switch "
                              f"{req.environment} to {image_repo}")
    return None


def _check_order(req: BumpRequest, now: Pin, proposal: Pin | None) -> Change:
    verdict = compare(now, req.pin)
    if verdict.older and not req.allow_downgrade:
        raise ConfigError(f"{req.values_path} deploys {now}, newer than GITOPS_IMAGE {req.pin} (by {verdict.by}): "
                          f"refusing to roll {req.environment} back",
                          fix=f"a newer pipeline got there first, so there is nothing to do; to roll back on purpose, "
                              f"{ROLLBACK_FIX}")
    if proposal is not None and not proposal.same_image(now) and not proposal.same_image(req.pin):
        against = compare(proposal, req.pin)
        if against.older and not req.allow_downgrade:
            raise ConfigError(f"the open merge request (branch {req.mr_branch}) already proposes {proposal}, newer "
                              f"than GITOPS_IMAGE {req.pin} (by {against.by}): refusing to replace it",
                              fix=f"let the newer proposal go through; to propose the older image on purpose, "
                                  f"{ROLLBACK_FIX}")
    if verdict.by == "unknown":
        log.warning("cannot tell whether %s is newer than %s: the tags are not versions and no pipeline is "
                    "recorded for both; pinning it as asked", req.pin, now)
    if verdict.older:
        log.warning("rolling %s back from %s to %s (GITOPS_ALLOW_DOWNGRADE)", req.environment, now, req.pin)
    return Change(changed=True, before=now, verdict=verdict, rollback=verdict.older)


def _start_sync(git: Git, source: Source) -> bool:
    """Turn on automated sync in an Application that waited for its first pinned image; False if it cannot."""
    text = _read(git, source.file, what="Application")
    doc = Document(text or "", where=source.file)
    policy = doc.nodes.get(("spec", "syncPolicy"))
    if policy is None or policy.kind != "mapping" or not policy.children:
        log.warning("%s waits for its first bump but has no spec.syncPolicy block: turn on automated sync yourself",
                    source.file)
        return False
    edit = Editor(doc)
    edit.add_block(("spec", "syncPolicy", "automated"), ["automated:", "  prune: true", "  selfHeal: true"],
                   {"prune": True, "selfHeal": True}, before=policy.children[0])
    edit.set(("metadata", "annotations", configrepo.ANNOTATION_SYNC), configrepo.SYNC_STARTED)
    _write(git, source.file, edit.apply(), what="Application")
    return True


def _apply(git: Git, req: BumpRequest, proposal: Pin | None = None) -> Change:
    """Check and edit the checkout; returns what changed (nothing is written when the image is already there)."""
    env_text = _read(git, req.values_path, what="values file")
    if env_text is None:
        raise _missing_values(git, req)
    base_text = _read(git, req.base_values_path, what="values file")
    doc = Document(env_text, where=req.values_path)
    check_image_block(doc)
    now = _deployed(req, base_text, doc.data)
    repository = _check_repository(req, now)
    source = configrepo.find_source(configrepo.read_sources(git.workdir, req.argocd_dir), req.app, req.environment)
    waiting = bool(source and source.kind == "Application" and source.waiting_for_first_bump)
    if now.pin.same_image(req.pin) and repository is None and not waiting:
        return Change(changed=False, before=now.pin, verdict=Verdict(0, "image"))
    change = _check_order(req, now.pin, proposal)
    _write(git, req.values_path, pin_image(doc, req.image, pipeline=req.pipeline, repository=repository),
           what="values file")
    change.files.append(req.values_path)
    if waiting and source is not None and _start_sync(git, source):
        change.sync_started = True
        change.files.append(source.file)
    if repository is not None and now.repository and now.repository != repository:
        change.repository_switched = now.repository
    return change


def _commit(git: Git, req: BumpRequest, change: Change) -> str:
    git.run("add", "--", *change.files)
    git.run("commit", "-q", "-F", "-", input=commit_message(req, change))
    return git.head()


def _checkout(git: Git, branch: str, *, fix: str) -> None:
    if not git.fetch(branch):
        if not git.run("ls-remote", "--heads", "origin").strip():
            # No branch at all: an empty repository, or a URL that is no git repository (a proxy's login
            # page answers git's dumb-HTTP fallback with 200 and no refs).
            raise ConfigError(f"{display_url(git.url)} lists no branch at all: it is empty, or not a git "
                              "repository", fix="check GITOPS_REPO_URL (the config repository's HTTPS clone URL) "
                                                "and that GITOPS_TOKEN may read it")
        raise ConfigError(f"the config repository {display_url(git.url)} has no branch '{branch}'", fix=fix)
    git.run("checkout", "-q", "-f", "-B", WORK_BRANCH, f"refs/remotes/origin/{branch}")
    git.run("clean", "-q", "-f", "-d")


# --- where the change goes ------------------------------------------------------------------------------
def route(git: Git, req: BumpRequest) -> Route:
    """The branch this environment syncs from and whether it is protected, from the Applications on GITOPS_BRANCH."""
    sources = configrepo.read_sources(git.workdir, req.argocd_dir)
    mine = configrepo.find_source(sources, req.app, req.environment)
    branch = mine.branch(req.branch) if mine else req.branch
    if mine is None:
        log.info("no Application for %s(%s) under %s/: using %s", req.app, req.environment, req.argocd_dir, branch)
    protected = req.environment in req.protected_environments or bool(mine and mine.protected)
    if mine and mine.protected and req.environment not in req.protected_environments:
        log.info("%s marks %s protected: proposing through a merge request, whatever GITOPS_PROTECTED_ENVIRONMENTS "
                 "says", mine.file, req.environment)
    guarded = {s.branch(req.branch): s for s in sources if s.protected}
    if not protected and branch in guarded:
        other = guarded[branch]
        raise ConfigError(f"{req.app}({req.environment}) syncs from {branch}, the source of the protected "
                          f"{other.app}({other.env}) ({other.file}): gitops-bump never pushes directly to a "
                          "protected environment's branch",
                          fix=f"give {req.environment} its own branch in its Application, or protect it too")
    if protected:
        shared = [s for s in sources if not s.protected and s.branch(req.branch) == branch]
        if branch == req.branch or shared:
            log.warning("%s syncs from %s, which unprotected environments push to directly: the merge request is "
                        "no gate until it syncs from a protected branch (see `pipeyard chart check`)",
                        req.environment, branch)
    return Route(branch=branch, protected=protected, source=mine)


def _push_direct(git: Git, req: BumpRequest, where: Route, *, checked_out: bool) -> BumpResult:
    attempts = _Attempts(req, where.branch)
    while True:
        attempt = attempts.next()
        if not (checked_out and attempt == 1):
            _checkout(git, where.branch, fix="create the branch its Application tracks, or fix its targetRevision")
        change = _apply(git, req)
        if not change.changed:
            return BumpResult("unchanged", before=change.before, attempts=attempt, branch=where.branch)
        if req.dry_run:
            return BumpResult("dry-run", before=change.before, diff=git.run("diff"), attempts=attempt,
                              branch=where.branch, rollback=change.rollback, sync_started=change.sync_started)
        commit = _commit(git, req, change)
        try:
            git.run("push", "-q", "origin", f"HEAD:refs/heads/{where.branch}")
        except GitFailure as exc:
            attempts.lost(exc)
            continue
        return BumpResult("pushed", before=change.before, commit=commit, attempts=attempt, branch=where.branch,
                          rollback=change.rollback, sync_started=change.sync_started)


def _proposal(git: Git, req: BumpRequest, tip: str | None) -> Pin | None:
    """What the merge-request branch proposes now, or None (no branch, or not a file gitops-bump wrote)."""
    if tip is None:
        return None
    ref = f"refs/remotes/origin/{req.mr_branch}"
    try:
        env = yamlio.load(git.run("show", f"{ref}:{req.values_path}"), req.values_path, error=ConfigError)
        base_text = git.run("show", f"{ref}:{req.base_values_path}")
    except (GitFailure, ConfigError):
        return None
    try:
        return _deployed(req, base_text, env).pin
    except ConfigError:
        return None


def _via_merge_request(git: Git, req: BumpRequest, where: Route) -> BumpResult:
    if req.gitlab is None:
        raise ConfigError(f"{req.environment} is protected but no GitLab is known for its merge request",
                          fix="set GITOPS_GITLAB_URL and GITOPS_PROJECT")
    attempts = _Attempts(req, req.mr_branch)
    while True:
        attempt = attempts.next()
        tips = git.fetch_many(where.branch, req.mr_branch)
        if where.branch not in tips:
            raise ConfigError(f"the config repository {display_url(req.repo_url)} has no branch '{where.branch}', "
                              f"which {where.source.file if where.source else 'GITOPS_BRANCH'} syncs "
                              f"{req.environment} from",
                              fix=f"create {where.branch} from {req.branch} and protect it in GitLab (push: No one, "
                                  "merge: Maintainers), as `pipeyard chart init` printed")
        git.run("checkout", "-q", "-f", "-B", WORK_BRANCH, f"refs/remotes/origin/{where.branch}")
        git.run("clean", "-q", "-f", "-d")
        proposed_tip = tips.get(req.mr_branch)
        change = _apply(git, req, _proposal(git, req, proposed_tip))
        if not change.changed:
            return BumpResult("unchanged", before=change.before, attempts=attempt, branch=where.branch)
        if req.dry_run:
            return BumpResult("dry-run", before=change.before, diff=git.run("diff"), attempts=attempt,
                              branch=where.branch, rollback=change.rollback, sync_started=change.sync_started)
        commit = _commit(git, req, change)
        if proposed_tip and git.run("rev-parse", "HEAD^{tree}") == git.run("rev-parse", f"{proposed_tip}^{{tree}}"):
            log.info("%s already proposes %s", req.mr_branch, req.image)
            commit = proposed_tip
        else:
            # Only over the tip this attempt read: a concurrent proposal is re-read and compared, never overwritten.
            lease = f"--force-with-lease=refs/heads/{req.mr_branch}:{proposed_tip or ''}"
            try:
                git.run("push", "-q", lease, "origin", f"HEAD:refs/heads/{req.mr_branch}")
            except GitFailure as exc:
                attempts.lost(exc)
                continue
        url, tip = _refresh_merge_request(git, req, req.gitlab, where.branch)
        return BumpResult("merge-request", before=change.before, commit=commit, url=url, attempts=attempt,
                          branch=where.branch, rollback=change.rollback, sync_started=change.sync_started,
                          superseded=tip is not None and tip != commit)


def _refresh_merge_request(git: Git, req: BumpRequest, target: MergeRequestTarget,
                           branch: str) -> tuple[str, str | None]:
    """Open or refresh the one merge request of this app and environment, described by the branch's tip.

    Concurrent bumps each update it after their push; taking the words from the tip (not from this job)
    and checking afterwards that the tip did not move means the last update always matches the newest push.
    Returns the merge request's URL and the tip it describes.
    """
    url, tip = "", None
    for _ in range(req.retries + 3):
        tip = git.fetch_many(req.mr_branch).get(req.mr_branch)
        if tip is None:
            log.info("%s is gone (merged, or closed and deleted) before its merge request was refreshed",
                     req.mr_branch)
            return url, None
        message = git.run("log", "-1", "--format=%B", tip)
        headline, _, body = message.partition("\n")
        url = ensure_merge_request(target, source=req.mr_branch, branch=branch, title=headline.strip(),
                                   description=body.strip("\n").replace("\n", "  \n"))
        if git.ls_remote(req.mr_branch).get(req.mr_branch) == tip:
            return url, tip
    return url, tip


def bump(req: BumpRequest, workdir: Path) -> BumpResult:
    git = Git(workdir=workdir / "repo", url=req.repo_url, username=req.username, token=req.token, home=workdir,
              ca_file=req.ca_file, author_name=req.author_name, author_email=req.author_email)
    try:
        git.init()
        _checkout(git, req.branch, fix="set GITOPS_BRANCH to the branch ArgoCD tracks")
        where = route(git, req)
        if where.protected:
            return _via_merge_request(git, req, where)
        return _push_direct(git, req, where, checked_out=where.branch == req.branch)
    except GitFailure as exc:
        raise explain(exc, url=req.repo_url, branch=req.branch) from None
