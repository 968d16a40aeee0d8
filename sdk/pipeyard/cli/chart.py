"""`pipeyard chart`: app charts for the config repository that ArgoCD syncs."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.charts.scaffold import ChartSpec, init_chart, origin_url
from pipeyard_kit.console import debug_option, run_main, setup_logging
from pipeyard_kit.errors import UsageError
from pipeyard_kit.settings import split_list


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def chart() -> None:
    """Write and maintain app charts in a config repository."""


@chart.command("init")
@click.argument("app")
@click.option("--image", required=True, metavar="REPO",
              help="The app's image repository without tag, e.g. harbor.example.com/team/app.")
@click.option("--config-repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="A clone of the config repository.")
@click.option("--repo-url", help="Clone URL ArgoCD reads the config repository from; "
                                 "default: the clone's origin remote.")
@click.option("--revision", default="HEAD", show_default=True, help="The branch or tag ArgoCD tracks.")
@click.option("--environments", default="dev,test,prod", show_default=True,
              help="Environments, separated by commas; one values file and Application each.")
@click.option("--namespace", default="{env}", show_default=True,
              help="Target namespace per environment; {app} and {env} are replaced.")
@click.option("--argocd-namespace", default="argocd", show_default=True, help="Where ArgoCD's Applications live.")
@click.option("--argocd-project", default="default", show_default=True, help="The ArgoCD project of the Applications.")
@click.option("--timezone", default="UTC", show_default=True, help="TZ of the app's container.")
@click.option("--ingress-domain", default="", help="Enable the Ingress as APP.ENV.DOMAIN (APP.DOMAIN in prod).")
@click.option("--tag", default="latest", show_default=True,
              help="The tag the values files start with, until the first gitops bump pins one.")
@click.option("--force", is_flag=True, help="Overwrite an existing chart of the same app.")
@debug_option
def init(app: str, image: str, config_repo: Path, repo_url: str | None, revision: str, environments: str,
         namespace: str, argocd_namespace: str, argocd_project: str, timezone: str, ingress_domain: str, tag: str,
         force: bool) -> None:
    """Write APP's Helm chart, values-ENV.yaml files and ArgoCD Applications into the config repository."""
    url = repo_url or origin_url(config_repo)
    if not url:
        raise UsageError(f"{config_repo} has no http(s) origin remote to point ArgoCD at",
                         fix="pass --repo-url with the config repository's clone URL")
    spec = ChartSpec(app=app, image=image.strip(), repo_url=url, environments=tuple(split_list(environments)),
                     tag=tag, revision=revision, namespace=namespace, argocd_namespace=argocd_namespace,
                     argocd_project=argocd_project, timezone=timezone, ingress_domain=ingress_domain.strip("."))
    written = init_chart(spec, config_repo, force=force)
    for rel in written:
        click.echo(f"wrote {rel}")
    click.echo(f"next: review, commit and push; then point one app-of-apps Application per environment at "
               f"argocd/<env> ({', '.join(spec.environments)}).")


def main() -> None:
    setup_logging()
    run_main(chart, "pipeyard chart")


if __name__ == "__main__":
    main()
