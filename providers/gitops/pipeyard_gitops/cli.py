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
from pipeyard_kit import options
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
    environments = settings_mod.split_list(settings["GITOPS_ENVIRONMENTS"] or "")
    environment = settings["GITOPS_ENVIRONMENT"]
    if environment is not None and environment not in environments:
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
    apps_dir = settings["GITOPS_APPS_DIR"] or "apps"
    if apps_dir.startswith("/") or ".." in apps_dir.split("/"):
        problems.append(f"GITOPS_APPS_DIR={apps_dir!r} is not a folder inside the config repository: "
                        "use a relative path such as apps")
    apps_dir = apps_dir.strip("/")
    if settings["GITOPS_PUSH_RETRIES"] is not None and settings["GITOPS_PUSH_RETRIES"] < 0:
        problems.append("GITOPS_PUSH_RETRIES is negative: use 0 or more")
    if problems:
        raise ConfigError(problems)

    ca_file = bundle_file(settings["CUSTOM_CA_CERTS"])
    # "none", because an empty CI variable counts as unset and would bring back the default.
    protected = [e for e in settings_mod.split_list(settings["GITOPS_PROTECTED_ENVIRONMENTS"] or "") if e != "none"]
    target = None
    if environment in protected:
        target = MergeRequestTarget(gitlab_url=settings["GITOPS_GITLAB_URL"] or origin(url).rstrip("/"),
                                    project=settings["GITOPS_PROJECT"] or _project_path(url),
                                    token=token, ca_file=ca_file)
    return BumpRequest(repo_url=url, branch=settings["GITOPS_BRANCH"], username=settings["GITOPS_USERNAME"],
                       token=token, app=app, environment=environment, image=image,
                       values_path=f"{apps_dir}/{app}/values-{environment}.yaml",
                       author_name=settings["GITOPS_AUTHOR_NAME"], author_email=settings["GITOPS_AUTHOR_EMAIL"],
                       retries=settings["GITOPS_PUSH_RETRIES"], provenance=Provenance.from_env(env),
                       merge_request=target, ca_file=ca_file, dry_run=dry_run)


def report(req: BumpRequest, result: BumpResult) -> str:
    change = f"{req.values_path}: {result.old_tag or '(none)'} -> {req.image.tag}"
    if result.outcome == "unchanged":
        return f"{req.values_path} already pins {req.image}: nothing to commit"
    if result.outcome == "dry-run":
        return f"dry run, nothing pushed; {change}\n{result.diff.rstrip()}"
    if result.outcome == "merge-request":
        return f"merge request {result.url} proposes {change} (branch {req.mr_branch})"
    retried = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    return f"pushed {result.commit[:12]} to {req.branch}{retried}: {change}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@options.common_options(PROVIDER, "gitops-bump")
@options.setting_options(PROVIDER)
@click.option("--dry-run", is_flag=True, help="Show the change to the values file; commit and push nothing.")
def main_command(dry_run: bool, **setting_flags: Any) -> None:
    """Pin a published image's tag and digest for one environment in the config repository.

    Pushes the change to GITOPS_BRANCH, or opens a merge request for the environments in
    GITOPS_PROTECTED_ENVIRONMENTS. Authenticates with GITOPS_TOKEN (or GITOPS_TOKEN_FILE) only.
    """
    resolved = settings_mod.load(PROVIDER, overrides=options.overrides(setting_flags), require=False)
    with tempfile.TemporaryDirectory(prefix="gitops-bump-") as tmp:
        req = build_request(resolved, os.environ, dry_run=dry_run, workdir=Path(tmp))
        how = "merge request" if req.merge_request else f"push to {req.branch}"
        log.info("%s(%s): %s in %s via %s", req.app, req.environment, req.image, display_url(req.repo_url), how)
        result = bump(req, Path(tmp))
    click.echo(report(req, result))


def main() -> None:
    setup_logging()
    run_main(main_command, "gitops-bump")


if __name__ == "__main__":
    main()
