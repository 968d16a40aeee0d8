"""`pipeyard updates`: newer releases of the pinned tools, and a merge request for them."""

from __future__ import annotations

import click

from pipeyard.cli.options import HTTP_URL
from pipeyard.cli.release import gitlab_token
from pipeyard_kit.console import debug_option


@click.command()
@click.argument("providers", nargs=-1)
@click.option("--apt-source", "apt_sources", multiple=True, metavar="LINE",
              help="A one-line apt source for the bases (repeatable) [default: the Debian mirror apt uses, "
                   "or $PIPEYARD_DEBIAN_MIRROR, with the base's release, -updates and -security].")
@click.option("--index", "indexes", multiple=True, metavar="[TOOL=]URL", envvar="PIPEYARD_UPSTREAM_INDEX",
              help="Upstream index for download-sourced tools: a pipeyard index (JSON {tools: {name: "
                   "[{version, url, sha256}]}}) or, per TOOL, maven-metadata.xml or a JSON list of versions "
                   "[default: $PIPEYARD_UPSTREAM_INDEX].")
@click.option("--npm-registry", metavar="URL", envvar="PIPEYARD_NPM_REGISTRY",
              help="The npm registry npm-sourced tools are compared with [default: the site file's npm_registry, "
                   "$PIPEYARD_NPM_REGISTRY, else registry.npmjs.org].")
@click.option("--write", is_flag=True, help="Apply the updates to this checkout (provider.yaml and rendered files).")
@click.option("--merge-request", is_flag=True, help="Open (or refresh) a merge request with the updates.")
@click.option("--gitlab-url", envvar="CI_SERVER_URL", type=HTTP_URL, help="GitLab for --merge-request [default: $CI_SERVER_URL].")
@click.option("--project", "project_path", envvar="CI_PROJECT_PATH", metavar="GROUP/PROJECT",
              help="This repository's project for --merge-request [default: $CI_PROJECT_PATH].")
@click.option("--target-branch", envvar="CI_DEFAULT_BRANCH", default="main", show_default=True,
              help="Branch the merge request goes into [default: $CI_DEFAULT_BRANCH].")
@debug_option
def updates(providers: tuple[str, ...], apt_sources: tuple[str, ...], indexes: tuple[str, ...],
            npm_registry: str | None, write: bool,
            merge_request: bool, gitlab_url: str | None, project_path: str | None, target_branch: str) -> None:
    """Report pinned tool versions that have a newer release; optionally write them or open a merge request.

    Every variant's tools are checked on their own. Debian-sourced tools are compared with `apt-cache
    policy` against their suite (or the base's release); npm-sourced ones with the npm registry's
    releases of the same major; download-sourced ones with the upstream index. The merge request uses
    PIPEYARD_GITLAB_TOKEN.
    """
    from pipeyard.model.provider import load_providers, repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.release import updates as up
    from pipeyard_kit.errors import UsageError

    if merge_request and not (gitlab_url and project_path):
        raise UsageError("--merge-request needs --gitlab-url and --project",
                         fix="pass them, or run in GitLab CI where CI_SERVER_URL and CI_PROJECT_PATH are set")
    root = repo_root()
    selected = load_providers(root, list(providers) or None)
    index_map = up.parse_index_options(indexes)
    up.check_index_options(index_map, selected)
    site = load_site(find_site(root), load_providers(root))
    found = up.find_updates(selected, apt=up.AptCatalog(list(apt_sources)), index=up.UpstreamIndex(index_map),
                            npm=up.NpmRegistry(npm_registry or site.npm_registry))
    for line in up.report_lines(found):
        click.echo(line)
    newer = [u for u in found if u.newer]
    if not newer or not (write or merge_request):
        return
    changes = up.planned_changes(root, newer, site)
    if write:
        up.write_changes(root, changes)
        click.echo(f"wrote {', '.join(sorted(changes))}")
    if merge_request:
        gl = up.gitlab_for(gitlab_url or "", gitlab_token())
        url = up.open_merge_request(gl, project_path or "", target_branch, newer, changes,
                                    gitlab_url=gitlab_url or "", echo=click.echo)
        click.echo(url)
