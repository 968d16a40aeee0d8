"""`pipeyard chart`: app charts for the config repository that ArgoCD syncs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pipeyard.charts.audit import audit, check_gitlab
from pipeyard.charts.scaffold import ChartSpec, gitlab_protection, init_chart, origin_url, parse_image_option
from pipeyard_kit import secrets
from pipeyard_kit.console import debug_option, run_main, setup_logging
from pipeyard_kit.errors import UsageError, ValidationError
from pipeyard_kit.settings import split_list
from pipeyard_kit.trust import bundle_file


def _protected(value: str) -> tuple[str, ...]:
    names = split_list(value)
    return () if names == ["none"] else tuple(names)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def chart() -> None:
    """Write and audit app charts in a config repository."""


@chart.command("init")
@click.argument("app")
@click.option("--image", required=True, metavar="REPO[:TAG][@DIGEST]",
              help="The app's image repository, e.g. harbor.example.com/team/app:1.4.2@sha256:... With a tag or "
                   "digest every environment starts pinned to it and syncs automatically; without, no environment "
                   "syncs until its first gitops bump.")
@click.option("--config-repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="A clone of the config repository.")
@click.option("--repo-url", help="Clone URL ArgoCD reads the config repository from; "
                                 "default: the clone's origin remote.")
@click.option("--revision", default="HEAD", show_default=True,
              help="The branch the unprotected environments track (HEAD: the default branch).")
@click.option("--environments", default="dev,test,prod", show_default=True,
              help="Environments, separated by commas; one values file and Application each.")
@click.option("--protected-environments", default="prod", show_default=True,
              help="Environments that change only by merge request, each syncing from its own protected branch "
                   "(`none`: no gate).")
@click.option("--protected-branch", default="deploy/{env}", show_default=True,
              help="The branch a protected environment syncs from; {app} and {env} are replaced.")
@click.option("--namespace", default="{env}", show_default=True,
              help="Target namespace per environment; {app} and {env} are replaced.")
@click.option("--argocd-namespace", default="argocd", show_default=True, help="Where ArgoCD's objects live.")
@click.option("--argocd-project", default="default", show_default=True,
              help="The ArgoCD project; any other than default is written as an AppProject limited to the "
                   "config repository and the app's namespaces.")
@click.option("--applicationset", is_flag=True,
              help="One ApplicationSet for every environment (and an AppProject) instead of one Application each.")
@click.option("--pull-secret", "pull_secrets", multiple=True, metavar="NAME",
              help="An image pull Secret for the registry (e.g. a Harbor robot account); repeatable.")
@click.option("--timezone", default="UTC", show_default=True, help="TZ of the app's container (IANA name).")
@click.option("--ingress-domain", default="", help="Enable the Ingress as APP.ENV.DOMAIN (APP.DOMAIN in prod).")
@click.option("--force", is_flag=True, help="Overwrite an existing chart of the same app.")
@debug_option
def init(app: str, image: str, config_repo: Path, repo_url: str | None, revision: str, environments: str,
         protected_environments: str, protected_branch: str, namespace: str, argocd_namespace: str,
         argocd_project: str, applicationset: bool, pull_secrets: tuple[str, ...], timezone: str,
         ingress_domain: str, force: bool) -> None:
    """Write APP's Helm chart, values-ENV.yaml files and ArgoCD objects into the config repository."""
    repository, tag, digest = parse_image_option(image)
    url = repo_url or origin_url(config_repo)
    if not url:
        raise UsageError(f"{config_repo} has no http(s) origin remote to point ArgoCD at",
                         fix="pass --repo-url with the config repository's clone URL")
    spec = ChartSpec(app=app, image=repository, tag=tag, digest=digest, repo_url=url,
                     environments=tuple(split_list(environments)), protected=_protected(protected_environments),
                     protected_branch=protected_branch, revision=revision, namespace=namespace,
                     argocd_namespace=argocd_namespace, argocd_project=argocd_project, applicationset=applicationset,
                     pull_secrets=pull_secrets, timezone=timezone, ingress_domain=ingress_domain.strip("."))
    written = init_chart(spec, config_repo, force=force)
    for rel in written:
        click.echo(f"wrote {rel}")
    click.echo("next: review, commit and push.")
    for env in spec.protected:
        branch = spec.revision_for(env)
        click.echo(f"  - {env} syncs from {branch}: create it from the default branch, then {gitlab_protection(branch)}.")
    sources = ", ".join(f"{e}: {spec.revision_for(e)}" for e in spec.environments)
    where = "argocd/applicationsets" if applicationset else "argocd/<env>"
    click.echo(f"  - point the app-of-apps at {where}, each on the branch its environment syncs from ({sources}).")
    if not spec.pinned:
        click.echo("  - no image is pinned: no environment syncs until its first gitops bump.")
    click.echo("  - then run `pipeyard chart check` (with --gitlab-url to verify the branch protections).")


@chart.command("check")
@click.option("--config-repo", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="A clone of the config repository.")
@click.option("--default-branch", default="main", show_default=True,
              help="The branch unprotected environments push to (what targetRevision HEAD means).")
@click.option("--protected-environments", default="prod", show_default=True,
              help="Environments that must be protected, separated by commas (`none`: only those labelled so).")
@click.option("--gitlab-url", envvar="GITLAB_URL", help="Also check the branch protections in this GitLab "
                                                        "(token from GITLAB_TOKEN or GITLAB_TOKEN_FILE).")
@click.option("--project", envvar="CI_PROJECT_PATH", help="The config repository's project path or id on --gitlab-url.")
@debug_option
def check(config_repo: Path, default_branch: str, protected_environments: str, gitlab_url: str | None,
          project: str | None) -> None:
    """Report protected environments that track an unprotected source, and automated syncs of unpinned images."""
    if not config_repo.is_dir():
        raise UsageError(f"--config-repo {config_repo} is not a folder", fix="pass a clone of the config repository")
    result = audit(config_repo, default_branch=default_branch, protected_environments=_protected(protected_environments))
    findings = list(result.findings)
    if gitlab_url:
        token = secrets.read("GITLAB_TOKEN")[0]
        if not token or not project:
            raise UsageError("--gitlab-url needs a token in GITLAB_TOKEN (or GITLAB_TOKEN_FILE) and --project",
                             fix="set both, or drop --gitlab-url for the offline check")
        findings += check_gitlab(result, gitlab_url=gitlab_url.rstrip("/"), project_path=project, token=token,
                                 default_branch=default_branch,
                                 ca_file=bundle_file(os.environ.get("CUSTOM_CA_CERTS")))
    if findings:
        raise ValidationError(f"{config_repo}: {len(findings)} problem(s):\n  " + "\n  ".join(map(str, findings)))
    protected = result.protected_branches(default_branch)
    where = " and GitLab's branch protections" if gitlab_url else ""
    click.echo(f"{config_repo}: {len(result.sources)} app environment(s) checked{where}; protected sources: "
               f"{', '.join(protected) or 'none'}")


def main() -> None:
    setup_logging()
    run_main(chart, "pipeyard chart")


if __name__ == "__main__":
    main()
