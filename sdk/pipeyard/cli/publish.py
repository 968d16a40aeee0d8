"""`pipeyard publish`: push the images by digest, then tag; with --harbor, manage the project."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from pipeyard.cli.json_output import emit, json_option, progress_echo, push_counts
from pipeyard.cli.options import HTTP_URL, IMAGE_TAG
from pipeyard_kit import __version__
from pipeyard_kit.console import debug_option

CREDENTIALS_HELP = ("Credentials: PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD (or "
                    "PIPEYARD_REGISTRY_PASSWORD_FILE); with --harbor, HARBOR_USERNAME and HARBOR_PASSWORD "
                    "(or HARBOR_PASSWORD_FILE). Loopback registries and hosts in PIPEYARD_PLAIN_HTTP are "
                    "spoken to over plain HTTP. PIPEYARD_RETRIES and PIPEYARD_RETRY_BACKOFF tune retries.")


@contextmanager
def docker_client() -> Iterator[Any]:
    """The local image store through the Docker API (Docker Engine, or a podman service started here)."""
    from pipeyard.images.containers import engine

    with engine() as eng:
        yield eng.client


def _secrets_dir(host: str) -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "pipeyard" / "harbor" / host.replace(":", "_")


@click.command(epilog=CREDENTIALS_HELP)
@click.argument("providers", nargs=-1)
@click.option("--registry", metavar="HOST[:PORT]/PROJECT", envvar="PIPEYARD_REGISTRY",
              help="Where to push [default: $PIPEYARD_REGISTRY; else the embedded registry "
                   "127.0.0.1:5000/pipeyard, started if it is not running; with --harbor, "
                   "HARBOR_HOST/pipeyard].")
@click.option("--harbor", "harbor_url", type=HTTP_URL, envvar="HARBOR_URL",
              help="Harbor to set up first (project, robots, retention, immutable tags, GC) and push to "
                   "[default: $HARBOR_URL].")
@click.option("--version", "version", default=__version__, show_default=True,
              help="Version to publish; the local images are localhost/pipeyard/NAME:VERSION.")
@click.option("--site", "site_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Site file whose image names (image_name, image_names) the images are published under "
                   "[default: $PIPEYARD_SITE, else pipeyard.site.yaml in the checkout].")
@click.option("--tag", "extra_tags", multiple=True, type=IMAGE_TAG, help="Extra tag (repeatable).")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Publish this variant (jdk17, node22) instead of its provider's default (repeatable).")
@click.option("--all-variants", is_flag=True, help="Publish every variant the site builds.")
@click.option("--latest/--no-latest", default=None,
              help="Tag `latest` [default: only on the default branch (CI_DEFAULT_BRANCH, else "
                   "main/master)].")
@click.option("--robot-secrets", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="With --harbor: write new robot secrets here, mode 0600 "
                   "[default: ~/.config/pipeyard/harbor/HOST].")
@click.option("--show-robot-secrets", is_flag=True,
              help="With --harbor: print each new robot secret once on stdout (Harbor shows it only at "
                   "creation).")
@click.option("--no-gc", is_flag=True,
              help="With --harbor: leave the GC schedule alone (it needs a system admin).")
@click.option("--setup-only", is_flag=True,
              help="With --harbor: set up the project and policies, push nothing.")
@click.option("--sign", is_flag=True,
              help="Sign every published digest the way cosign does (sha256-<digest>.sig) and attach a signed "
                   "SBOM attestation (.att), with the key in PIPEYARD_SIGNING_KEY (or _FILE) or --key.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="With --sign: the signing key, a PEM ECDSA P-256 private key (PKCS#8) or cosign's "
                   "encrypted cosign.key with COSIGN_PASSWORD [default: $PIPEYARD_SIGNING_KEY].")
@click.option("--no-sbom", is_flag=True, help="Do not attach the images' CycloneDX SBOMs as OCI referrers.")
@json_option
@debug_option
def publish(providers: tuple[str, ...], registry: str | None, harbor_url: str | None, version: str,
            site_path: Path | None, extra_tags: tuple[str, ...], variants: tuple[str, ...], all_variants: bool,
            latest: bool | None, robot_secrets: Path | None, show_robot_secrets: bool, no_gc: bool,
            setup_only: bool, sign: bool, key_path: Path | None, no_sbom: bool, as_json: bool) -> None:
    """Push provider images by digest, then tag them: version, major, git sha, latest on the default branch.

    PROVIDERS default to all of them, each its default variant unless --variant or --all-variants says
    otherwise. A variant's tags end in -<variant> (1.0.0-jdk17); the site's default variant also gets the
    plain ones. A re-publish with nothing changed uploads nothing and says so.
    """
    from pipeyard.images.build import select_variants
    from pipeyard.model.provider import load_providers, repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.publish import images as pub
    from pipeyard.publish.archive import LayerCache
    from pipeyard.publish.harbor import HarborClient, SecretSink, provision, validate_project_name
    from pipeyard.publish.harbor.security import SecurityPolicy
    from pipeyard.supply.keys import load_signing_key
    from pipeyard_kit.errors import UsageError
    from pipeyard_kit.registry import RegistryClient, Target
    from pipeyard_kit.registry.credentials import env_hint, from_env

    # Everything a user can get wrong is checked before any server is called.
    echo = progress_echo(as_json)
    root = repo_root()
    selected = load_providers(root, list(providers) or None)
    site = load_site(site_path or find_site(root), load_providers(root))
    chosen = select_variants(selected, site, variants, all_variants)
    if (setup_only or robot_secrets or show_robot_secrets or no_gc) and not harbor_url:
        raise UsageError("--setup-only, --robot-secrets, --show-robot-secrets and --no-gc need --harbor",
                         fix="add --harbor URL (or set HARBOR_URL)")
    if key_path is not None and not sign:
        raise UsageError("--key is the signing key of --sign", fix="add --sign, or drop --key")
    key = load_signing_key(key_path) if sign and not setup_only else None
    security = None
    harbor = None
    if harbor_url:
        project = Target.split(registry)[2].split("/")[0] if registry else "pipeyard"
        validate_project_name(project)  # Harbor's own rules, before anything is called
        credentials = from_env("HARBOR", required=True)
        hint = env_hint("HARBOR")
        harbor = HarborClient(harbor_url, credentials)  # type: ignore[arg-type]
        target = Target.parse(registry) if registry else Target(harbor.host, project, harbor.scheme)
        security = SecurityPolicy.from_site(site.harbor, str(site.path or "the embedded site"))
        if security.require_signatures and not sign and not setup_only:
            raise UsageError(f"{site.path}: harbor.require_signatures makes Harbor refuse unsigned images, "
                             "and this publish does not sign",
                             fix="add --sign (with PIPEYARD_SIGNING_KEY), or set harbor.require_signatures: false")
    else:
        credentials = from_env("PIPEYARD_REGISTRY")
        hint = env_hint("PIPEYARD_REGISTRY")
        target = Target.parse(registry or pub.EMBEDDED)

    if harbor is not None:
        sink = SecretSink(robot_secrets or _secrets_dir(harbor.host),
                          show=click.echo if show_robot_secrets else None)
        result = provision(harbor, target.project, sink, gc=not no_gc, security=security)
        for line in result.lines():
            echo(line)
        if setup_only:
            return
    elif registry is None:
        pub.start_embedded(target, echo=lambda m: click.echo(m, err=True))

    client = RegistryClient(target.host, scheme=target.scheme, credentials=credentials, credential_hint=hint)
    client.ping()  # a wrong address or login fails here, before the container engine starts
    tags = pub.plan_tags(version, sha=pub.git_sha(), release=os.environ.get("CI_COMMIT_TAG"),
                         extra=extra_tags, latest=pub.on_default_branch() if latest is None else latest)
    images = [pub.LocalImage(site.image_of(p), pub.local_ref(site.image_of(p), version, v.name), v.name,
                             tuple(pub.variant_tags(tags, v.name, plain=v == site.default_variant(p))))
              for p, v in chosen]
    after = _supply_chain(client, target, key, sbom=not no_sbom) if (not no_sbom or key is not None) else None
    guard = None
    if harbor is not None:
        from pipeyard.publish.harbor.immutability import guard as immutable_guard

        guard = immutable_guard(harbor.immutable_rules(target.project), client, target.project)
    from pipeyard.images.progress import upload_bars

    with docker_client() as store, upload_bars(client):
        results = pub.publish_images(store, images, target, client, tags, cache=LayerCache(), echo=echo,
                                     guard=guard, after=after)
    if as_json:
        emit("publish", {"registry": str(target), "images": [
            {"name": r.name, "reference": r.reference, "digest": r.digest, "tags": r.tags, "moved": r.moved,
             "size": r.size, **push_counts(r.stats)} for r in results]})


def _supply_chain(client: Any, target: Any, key: Any, *, sbom: bool) -> Any:
    """Beside each pushed digest: its SBOM as a referrer, and with --sign its signature and attestation."""
    from pipeyard.supply import attach
    from pipeyard.supply.sbom import for_image, summary

    def after(image: Any, local: Any, result: Any) -> str:
        document = None
        if sbom:
            document, generated = for_image(local, image.ref)
            if generated:
                click.echo(f"  SBOM of {image.ref} generated ({summary(document)})", err=True)
        return attach.attach(client, target.repository(image.name), result.digest, document, key).describe()

    return after
