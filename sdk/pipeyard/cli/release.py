"""`pipeyard release ...`: the steps of pipeyard's own pipeline (.gitlab-ci.yml)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.cli.options import HTTP_URL, IMAGE_TAG
from pipeyard.images.debian_releases import RELEASES
from pipeyard_kit import __version__
from pipeyard_kit.console import debug_option

REGISTRY_HELP = ("Credentials: PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD (or "
                 "PIPEYARD_REGISTRY_PASSWORD_FILE). Loopback registries and hosts in PIPEYARD_PLAIN_HTTP are spoken "
                 "to over plain HTTP.")


TOKEN_VAR = "PIPEYARD_GITLAB_TOKEN"


digests_option = click.option("--digests", "digests", type=click.Path(file_okay=False, path_type=Path),
                              default=Path(".pipeyard-ci"), show_default=True,
                              help="Folder of the per-provider digest records (<provider>.json).")


def _registry(registry: str):
    from pipeyard_kit.registry import RegistryClient, Target
    from pipeyard_kit.registry.credentials import env_hint, from_env

    target = Target.parse(registry)
    client = RegistryClient(target.host, scheme=target.scheme, credentials=from_env("PIPEYARD_REGISTRY"),
                            credential_hint=env_hint("PIPEYARD_REGISTRY"))
    return target, client


def gitlab_token() -> str:
    from pipeyard_kit import secrets
    from pipeyard_kit.errors import ConfigError

    try:
        token = secrets.read(TOKEN_VAR)[0]
    except secrets.SecretFileError as exc:
        raise ConfigError(str(exc)) from None
    if not token:
        raise ConfigError(f"{TOKEN_VAR} is not set",
                          fix=f"set {TOKEN_VAR} (or {TOKEN_VAR}_FILE) as a masked CI/CD variable: an access token "
                              "with api scope")
    return token


@click.group()
def release() -> None:
    """pipeyard's own release steps: per-pipeline pushes, promotion by digest, catalog release, Harbor."""


@release.command("push", epilog=REGISTRY_HELP)
@click.argument("providers", nargs=-1)
@click.option("--registry", required=True, envvar="PIPEYARD_REGISTRY", metavar="HOST[:PORT]/PROJECT",
              help="Registry project to push to [default: $PIPEYARD_REGISTRY].")
@click.option("--tag", required=True, type=IMAGE_TAG,
              help="The one tag to push, e.g. ci-$CI_PIPELINE_ID; a variant's gets its suffix (ci-123-jdk17).")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Push this variant instead of its provider's default (repeatable).")
@click.option("--all-variants", is_flag=True, help="Push every variant the site builds.")
@digests_option
@click.option("--version", "version", default=__version__, show_default=True,
              help="Local images to push: localhost/pipeyard/IMAGE:VERSION[-VARIANT], as `pipeyard build` tags them.")
@debug_option
def push(providers: tuple[str, ...], registry: str, tag: str, variants: tuple[str, ...], all_variants: bool,
         digests: Path, version: str) -> None:
    """Push built images by digest under one per-pipeline tag and record their digests."""
    from pipeyard.cli.publish import docker_client
    from pipeyard.images.build import select_variants
    from pipeyard.model.provider import load_providers, repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.release.promote import CiImage, check_tag, push_ci

    check_tag(tag)
    root = repo_root()
    selected = load_providers(root, list(providers) or None)
    site = load_site(find_site(root), load_providers(root))
    images = [CiImage(p.name, site.image_of(p), v.name, v == site.default_variant(p))
              for p, v in select_variants(selected, site, variants, all_variants)]
    target, client = _registry(registry)
    client.ping()
    with docker_client() as store:
        records = push_ci(store, images, target, client, tag, digests, version=version, echo=click.echo)
    for r in records:
        click.echo(f"{r.image}: {r.registry}/{r.repository}:{r.tag}@{r.digest} -> {digests}/{r.image}.json")


@release.command("bases", epilog=REGISTRY_HELP)
@click.argument("releases", nargs=-1, required=True, type=click.Choice(RELEASES))
@click.option("--registry", required=True, envvar="PIPEYARD_BASE_REGISTRY", metavar="HOST[:PORT]/PROJECT",
              help="Where the bases go, as REGISTRY/debian:RELEASE [default: $PIPEYARD_BASE_REGISTRY].")
@debug_option
def bases(releases: tuple[str, ...], registry: str) -> None:
    """Push the bootstrapped Debian bases (localhost/pipeyard/debian:RELEASE) to the base registry."""
    from pipeyard.cli.publish import docker_client
    from pipeyard.release.promote import push_bases
    from pipeyard_kit.errors import ConfigError
    from pipeyard_kit.registry import Target

    if Target.split(registry)[1] == "localhost":
        raise ConfigError(f"--registry {registry} is the local image store, not a registry",
                          fix="set base_registry in the site file to a Harbor project, or set "
                              "PIPEYARD_BOOTSTRAP_BASES=false when it is a proxy cache")
    target, client = _registry(registry)
    client.ping()
    with docker_client() as store:
        for ref in push_bases(store, list(releases), target, client, echo=click.echo):
            click.echo(ref)


@release.command("promote", epilog=REGISTRY_HELP)
@click.argument("providers", nargs=-1)
@click.option("--registry", required=True, envvar="PIPEYARD_REGISTRY", metavar="HOST[:PORT]/PROJECT",
              help="Registry project of the release tags [default: $PIPEYARD_REGISTRY].")
@digests_option
@click.option("--version", "tag", required=True, envvar="CI_COMMIT_TAG", metavar="TAG",
              help="The release tag, e.g. v1.4.2 [default: $CI_COMMIT_TAG]; it must match pipeyard's version.")
@debug_option
def promote(providers: tuple[str, ...], registry: str, digests: Path, tag: str) -> None:
    """Tag the tested digests VERSION, MAJOR and MAJOR.MINOR, copying manifests; nothing is rebuilt."""
    from pipeyard.release.promote import promote as do_promote
    from pipeyard.release.promote import read_records, release_version, write_release

    version = release_version(tag)
    target, client = _registry(registry)  # a bad --registry is a usage error before any record is read
    records = read_records(digests, list(providers) or None)
    promoted = do_promote(client, target, records, version, echo=click.echo)
    path = write_release(digests, version, promoted)
    moved = sum(len(p.moved) for p in promoted)
    click.echo(f"promoted {len(promoted)} images to {', '.join(version.tags)} ({moved} tags moved, "
               f"0 blobs uploaded); record: {path}")


@release.command("catalog")
@click.option("--gitlab-url", envvar="CI_SERVER_URL", type=HTTP_URL, help="GitLab [default: $CI_SERVER_URL].")
@click.option("--project", "project_path", envvar="PIPEYARD_COMPONENT_PROJECT", metavar="GROUP/PROJECT",
              help="The component project [default: $PIPEYARD_COMPONENT_PROJECT, else the site file's "
                   "component_project].")
@click.option("--version", "tag", envvar="CI_COMMIT_TAG", metavar="TAG",
              help="The release tag [default: $CI_COMMIT_TAG]; it must match pipeyard's version.")
@digests_option
@click.option("--release-image", envvar="PIPEYARD_RELEASE_IMAGE", metavar="IMAGE",
              help="The glab image of the component project's release job [default: $PIPEYARD_RELEASE_IMAGE, "
                   "else registry.gitlab.com/gitlab-org/cli:latest].")
@click.option("--wait", type=click.FloatRange(min=0), default=600, show_default=True,
              help="Seconds to wait for the tag pipeline's release; 0 tags and returns.")
@click.option("--show-release-job", is_flag=True,
              help="Print the .gitlab-ci.yml pipeyard keeps in the component project, and exit.")
@debug_option
def catalog(gitlab_url: str | None, project_path: str | None, tag: str | None, digests: Path,
            release_image: str | None, wait: float, show_release_job: bool) -> None:
    """Publish pipeline-templates/ as a CI/CD catalog version of the component project.

    GitLab publishes catalog versions only from a job with `release:` in the component project, so
    this commits the templates and that job's .gitlab-ci.yml (unless the project has its own), pushes
    the version tag with the release notes as its message, and waits for the tag pipeline's release.
    The token comes from PIPEYARD_GITLAB_TOKEN (or PIPEYARD_GITLAB_TOKEN_FILE).
    """
    import json

    from pipeyard.model.provider import load_providers, repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.release.catalog import (
        RELEASE_IMAGE,
        client,
        component_names,
        publish_catalog,
        release_notes,
        release_pipeline,
    )
    from pipeyard.release.promote import release_version
    from pipeyard.render.outputs import TEMPLATES_DIR
    from pipeyard_kit.errors import UsageError

    root = repo_root()
    site = load_site(find_site(root), load_providers(root))
    image = release_image or RELEASE_IMAGE
    if show_release_job:
        click.echo(release_pipeline(image, site.runner_tags), nl=False)
        return
    missing = [name for name, value in (("--gitlab-url (CI_SERVER_URL)", gitlab_url),
                                        ("--version (CI_COMMIT_TAG)", tag)) if not value]
    if missing:
        raise UsageError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
                         fix="pass them, or run in the tag pipeline that sets them")
    assert gitlab_url and tag
    version = release_version(tag)
    project_path = project_path or site.component_project.split("/", 1)[1]
    templates = root / TEMPLATES_DIR
    token = gitlab_token()
    images = []
    record = digests / "release.json"
    if record.is_file():
        try:
            images = json.loads(record.read_text(encoding="utf-8")).get("images", [])
        except (ValueError, AttributeError):
            raise UsageError(f"{record} is not the record `pipeyard release promote` writes",
                             fix="pass the promote job's artifacts as --digests, or leave release.json out") from None
    host = gitlab_url.split("://", 1)[-1].rstrip("/")
    notes = release_notes(version, f"{host}/{project_path}", component_names(templates), images)
    gl = client(gitlab_url, token, what="a catalog release")
    publish_catalog(gl, project_path, version, templates, notes=notes, echo=click.echo, url=gitlab_url,
                    token_var=TOKEN_VAR, release_image=image, runner_tags=site.runner_tags, wait=wait)


@release.command("harbor")
@click.option("--harbor", "harbor_url", required=True, envvar="HARBOR_URL", type=HTTP_URL,
              help="Harbor [default: $HARBOR_URL].")
@click.option("--registry", envvar="PIPEYARD_REGISTRY", metavar="HOST/PROJECT",
              help="The project is its first path part [default: $PIPEYARD_REGISTRY].")
@click.option("--project", help="The Harbor project (instead of --registry).")
@click.option("--no-gc", is_flag=True, help="Leave the GC schedule alone (it needs a system admin).")
@debug_option
def harbor(harbor_url: str, registry: str | None, project: str | None, no_gc: bool) -> None:
    """Apply the Harbor policies: tag retention, immutable release tags, weekly GC.

    Credentials: HARBOR_USERNAME and HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE).
    """
    from pipeyard.publish.harbor import HarborClient
    from pipeyard.release.promote import apply_policies
    from pipeyard_kit.errors import UsageError
    from pipeyard_kit.registry import Target
    from pipeyard_kit.registry.credentials import from_env

    if not project:
        if not registry:
            raise UsageError("no Harbor project given", fix="pass --project NAME or --registry HOST/PROJECT")
        project = Target.split(registry)[2].split("/")[0]
    client = HarborClient(harbor_url, from_env("HARBOR", required=True))  # type: ignore[arg-type]
    summary = apply_policies(client, project, gc=not no_gc)
    for line in summary.lines():
        click.echo(line)
