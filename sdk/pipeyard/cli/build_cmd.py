"""`pipeyard base bootstrap` and `pipeyard build`: the provider images, through a Docker Engine API.

The container engine is the real Docker Engine when DOCKER_HOST or /var/run/docker.sock
answers, else a podman service pipeyard starts and stops itself.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError
from .errors import debug_option


@click.group()
def base() -> None:
    """The Debian base images every provider image builds FROM."""


@base.command("bootstrap")
@click.option("--release", type=click.Choice(["trixie", "bookworm"]), default="trixie", show_default=True,
              help="Debian release (trixie is Debian 13; bookworm only where a provider needs its packages).")
@click.option("--mirror", metavar="URL", help="Debian mirror [default: the one apt's sources use, or "
                                               "$PIPEYARD_DEBIAN_MIRROR].")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@debug_option
def bootstrap_cmd(release: str, mirror: str | None, force: bool) -> None:
    """Debootstrap a minimal Debian and import it as localhost/pipeyard/debian:RELEASE (cached)."""
    from ..build.base_image import bootstrap
    from ..build.progress import stderr_console
    from ..containers import engine

    console = stderr_console()
    with engine() as eng:
        result = bootstrap(eng, release, mirror=mirror, force=force, console=console)
    if result.cached:
        console.print(f"{result.ref} already exists ({result.image_id[7:19]}): nothing to do "
                      f"(use --force to rebuild it)")
    else:
        console.print(f"[green]built[/] {result.ref} ({result.image_id[7:19]}) from {result.mirror} "
                      f"in {result.seconds:.0f} s")


@click.command()
@click.argument("providers", nargs=-1)
@click.option("--site", "site_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Site file whose non-secret defaults and CA certificates are baked in "
                   "[default: $PIPEYARD_SITE, else pipeyard.site.yaml in the checkout].")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Extra tag for every image (repeatable); images are always tagged with the version.")
@click.option("--no-cache", is_flag=True, help="Rebuild every layer.")
@click.option("--verbose", "-v", is_flag=True, help="Print the build output of every step.")
@debug_option
def build(providers: tuple[str, ...], site_path: Path | None, tags: tuple[str, ...], no_cache: bool,
          verbose: bool) -> None:
    """Build the provider images (all of them when no PROVIDER is given)."""
    from ..build.images import BuildRequest, build_images, check_tags
    from ..build.progress import stderr_console
    from ..containers import engine
    from ..model import load_providers, repo_root
    from ..site import find_site, load_site

    # Everything a user can get wrong is checked before the engine starts.
    root = repo_root()
    selected = load_providers(root, list(providers) or None)
    check_tags(tags)
    if site_path is not None and not site_path.is_file():
        raise UsageError(f"--site {site_path}: no such file", fix="pass the path of a site file")
    site = load_site(site_path or find_site(root), load_providers(root))
    console = stderr_console()
    request = BuildRequest(root=root, providers=selected, site=site, tags=tags, no_cache=no_cache)
    with engine() as eng:
        results = build_images(eng, request, console=console, verbose=verbose)
    for r in results:
        for tag in r.tags:
            click.echo(tag)


@click.group()
def registry() -> None:
    """The embedded local registry (Debian's docker-registry on 127.0.0.1:5000)."""


@registry.command("start")
@debug_option
def registry_start() -> None:
    """Start the embedded registry (a no-op when one already answers)."""
    from ..containers.registry_server import LocalRegistry, default_root

    reg = LocalRegistry(default_root()).start()
    click.echo(reg.address)


@registry.command("stop")
@debug_option
def registry_stop() -> None:
    """Stop the embedded registry this machine's pipeyard started."""
    from ..containers.registry_server import LocalRegistry, default_root

    LocalRegistry(default_root()).stop()
