"""`gitops-bump`: the script of the .gitops-bump job.

Settings come from provider.yaml (flag > job variable > site default > default);
every problem is collected and reported at once, before any network call.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click

from pipeyard_gitops.bump import BumpRequest, BumpResult, Provenance, bump
from pipeyard_gitops.git import display_url, origin
from pipeyard_gitops.mergerequest import MergeRequestTarget
from pipeyard_kit import configrepo, options
from pipeyard_kit import settings as settings_mod
from pipeyard_kit.console import run_main, setup_logging
from pipeyard_kit.errors import ConfigError, PipeyardError
from pipeyard_kit.refs import APP_NAME, parse_image
from pipeyard_kit.trust import bundle_file

log = logging.getLogger("pipeyard.gitops")

PROVIDER = "gitops"


def _project_path(url: str) -> str:
    path = unquote(urlsplit(url).path).strip("/")
    return path.removesuffix(".git")


def _pipeline_iid(env: Mapping[str, str], problems: list[str]) -> int | None:
    raw = (env.get("CI_PIPELINE_IID") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        problems.append(f"CI_PIPELINE_IID={raw!r} is not a pipeline number: leave GitLab's predefined variable as it is")
        return None
    return int(raw)


def _environments(settings: settings_mod.Settings, problems: list[str]) -> tuple[list[str], list[str]]:
    """(known, protected) environment names, each checked against the strict pattern."""
    environments = settings_mod.split_list(settings["GITOPS_ENVIRONMENTS"] or "")
    # "none", because an empty CI variable counts as unset and would bring back the default.
    protected = [e for e in settings_mod.split_list(settings["GITOPS_PROTECTED_ENVIRONMENTS"] or "") if e != "none"]
    for setting, names in (("GITOPS_ENVIRONMENTS", environments), ("GITOPS_PROTECTED_ENVIRONMENTS", protected)):
        for name in names:
            problem = configrepo.env_name_problem(name, setting)
            if problem:
                problems.append(problem)
    unknown = [e for e in protected if e not in environments and not configrepo.env_name_problem(e, "")]
    if unknown and environments and not any(configrepo.env_name_problem(e, "") for e in environments):
        # A typo here (prd for prod) would leave the real environment unprotected: refused, never ignored.
        problems.append(f"GITOPS_PROTECTED_ENVIRONMENTS names {', '.join(unknown)}, which GITOPS_ENVIRONMENTS "
                        f"({', '.join(environments)}) does not know: fix the name, or add it to GITOPS_ENVIRONMENTS")
    return environments, protected


def build_request(settings: settings_mod.Settings, env: Mapping[str, str], *, dry_run: bool,
                  workdir: Path) -> BumpRequest:
    problems = settings_mod.missing(settings)
    url = settings["GITOPS_REPO_URL"] or ""
    if url and (urlsplit(url).username or urlsplit(url).password):
        problems.append("GITOPS_REPO_URL carries credentials in the URL: remove them; "
                        "the token comes from GITOPS_TOKEN only")
    token = settings["GITOPS_TOKEN"] or ""
    if token and token == env.get("CI_JOB_TOKEN"):
        problems.append("GITOPS_TOKEN is this job's CI_JOB_TOKEN, which must not write the config repository: "
                        "create a project access token on the config repository and store it as GITOPS_TOKEN")
    environments, protected = _environments(settings, problems)
    environment = settings["GITOPS_ENVIRONMENT"]
    if environment is not None:
        problem = configrepo.env_name_problem(environment, "GITOPS_ENVIRONMENT")
        if problem:
            problems.append(problem)
        elif environment not in environments:
            problems.append(f"GITOPS_ENVIRONMENT={environment!r} is not a known environment: use one of "
                            f"{', '.join(environments) or '(none)'}, or add it to GITOPS_ENVIRONMENTS")
    image = None
    if settings["GITOPS_IMAGE"] is not None:
        try:
            image = parse_image(settings["GITOPS_IMAGE"])
        except PipeyardError as exc:
            problems.append(exc.render())
    app = settings["GITOPS_APP"] or env.get("CI_PROJECT_NAME", "")
    if not app:
        problems.append("GITOPS_APP is not set and this is not a pipeline (no CI_PROJECT_NAME): "
                        "set GITOPS_APP to the app's folder in the config repository")
    elif not APP_NAME.match(app) or len(app) > 53:
        problems.append(f"GITOPS_APP={app!r} is not an app name: use lowercase letters, digits and '-' "
                        "(the name given to `pipeyard chart init`)")
    folders = {}
    for setting in ("GITOPS_APPS_DIR", "GITOPS_ARGOCD_DIR"):
        folder = (settings[setting] or "").rstrip("/")
        problem = configrepo.relative_problem(folder, setting)
        if problem:
            problems.append(problem)
        folders[setting] = folder
    branch = settings["GITOPS_BRANCH"] or ""
    if not configrepo.BRANCH_NAME.match(branch):
        problems.append(f"GITOPS_BRANCH={branch!r} is not a branch name: use the branch ArgoCD tracks, e.g. main")
    pipeline = _pipeline_iid(env, problems)
    if problems:
        raise ConfigError(problems)

    ca_file = bundle_file(settings["CUSTOM_CA_CERTS"])
    gitlab = MergeRequestTarget(gitlab_url=settings["GITOPS_GITLAB_URL"] or origin(url).rstrip("/"),
                                project=settings["GITOPS_PROJECT"] or _project_path(url), token=token,
                                ca_file=ca_file)
    return BumpRequest(repo_url=url, branch=branch, username=settings["GITOPS_USERNAME"], token=token, app=app,
                       environment=environment, image=image, apps_dir=folders["GITOPS_APPS_DIR"],
                       argocd_dir=folders["GITOPS_ARGOCD_DIR"], author_name=settings["GITOPS_AUTHOR_NAME"],
                       author_email=settings["GITOPS_AUTHOR_EMAIL"], retries=settings["GITOPS_PUSH_RETRIES"],
                       provenance=Provenance.from_env(env), pipeline=pipeline,
                       allow_downgrade=bool(settings["GITOPS_ALLOW_DOWNGRADE"]),
                       set_repository=bool(settings["GITOPS_SET_REPOSITORY"]),
                       protected_environments=tuple(protected), gitlab=gitlab, ca_file=ca_file, dry_run=dry_run)


def report(req: BumpRequest, result: BumpResult) -> str:
    verb = "rolls back" if result.rollback else "->"
    change = f"{req.values_path}: {result.old_tag or '(none)'} {verb} {req.image.tag}"
    if result.sync_started:
        change += " (automated sync starts)"
    if result.outcome == "unchanged":
        return f"{req.values_path} already pins {req.image}: nothing to commit"
    if result.outcome == "dry-run":
        return f"dry run, nothing pushed; {change}\n{result.diff.rstrip()}"
    if result.outcome == "merge-request" and result.superseded:
        return (f"merge request {result.url} took {change}, then a newer bump replaced the proposal "
                f"(branch {req.mr_branch} into {result.branch})")
    if result.outcome == "merge-request":
        return f"merge request {result.url} proposes {change} (branch {req.mr_branch} into {result.branch})"
    retried = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    return f"pushed {result.commit[:12]} to {result.branch}{retried}: {change}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@options.common_options(PROVIDER, "gitops-bump")
@options.setting_options(PROVIDER)
@click.option("--dry-run", is_flag=True, help="Show the change to the values file; commit and push nothing.")
def main_command(dry_run: bool, **setting_flags: Any) -> None:
    """Pin a published image's tag and digest for one environment in the config repository.

    Pushes the change to the branch the environment's Application syncs from, or opens a merge
    request into it for a protected environment (GITOPS_PROTECTED_ENVIRONMENTS, or an Application
    labelled pipeyard.dev/protected). Refuses an image older than the one deployed (unless
    --allow-downgrade) or from another repository (unless --set-repository). Authenticates with
    GITOPS_TOKEN (or GITOPS_TOKEN_FILE) only.
    """
    resolved = settings_mod.load(PROVIDER, overrides=options.overrides(setting_flags), require=False)
    with tempfile.TemporaryDirectory(prefix="gitops-bump-") as tmp:
        req = build_request(resolved, os.environ, dry_run=dry_run, workdir=Path(tmp))
        log.info("%s(%s): %s in %s", req.app, req.environment, req.image, display_url(req.repo_url))
        result = bump(req, Path(tmp))
    click.echo(report(req, result))


def main() -> None:
    setup_logging()
    run_main(main_command, "gitops-bump")


if __name__ == "__main__":
    main()
