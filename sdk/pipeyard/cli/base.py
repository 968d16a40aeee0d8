"""`pipeyard base bootstrap`: the Debian base image from debootstrap, no Docker Hub."""

from __future__ import annotations

import click

from pipeyard.cli.options import HTTP_URL
from pipeyard.images.debian_releases import DEFAULT_RELEASE, RELEASES
from pipeyard_kit.console import debug_option


@click.group()
def base() -> None:
    """The Debian base images every provider image builds FROM."""


@base.command("bootstrap")
@click.option("--release", type=click.Choice(RELEASES), default=DEFAULT_RELEASE, show_default=True,
              help="Debian release (trixie is Debian 13; bookworm only where a provider needs its packages).")
@click.option("--mirror", type=HTTP_URL, help="Debian mirror [default: the one apt's sources use, or "
                                               "$PIPEYARD_DEBIAN_MIRROR].")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@debug_option
def bootstrap_cmd(release: str, mirror: str | None, force: bool) -> None:
    """Debootstrap a minimal Debian and import it as localhost/pipeyard/debian:RELEASE (cached)."""
    from pipeyard.images.base import bootstrap
    from pipeyard.images.containers import engine
    from pipeyard.images.progress import stderr_console

    console = stderr_console()
    with engine() as eng:
        result = bootstrap(eng, release, mirror=mirror, force=force, console=console)
    if result.cached:
        console.print(f"{result.ref} already exists ({result.image_id[7:19]}): nothing to do "
                      f"(use --force to rebuild it)")
    else:
        console.print(f"[green]built[/] {result.ref} ({result.image_id[7:19]}) from {result.mirror} "
                      f"in {result.seconds:.0f} s")
