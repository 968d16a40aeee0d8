"""`pipeyard registry start|stop`: the embedded local registry."""

from __future__ import annotations

import click

from pipeyard_kit.console import debug_option


@click.group()
def registry() -> None:
    """The embedded local registry (Debian's docker-registry on 127.0.0.1:5000)."""


@registry.command("start")
@debug_option
def registry_start() -> None:
    """Start the embedded registry (a no-op when one already answers)."""
    from pipeyard.images.containers.registry_server import LocalRegistry, default_root

    reg = LocalRegistry(default_root()).start()
    click.echo(reg.address)


@registry.command("stop")
@debug_option
def registry_stop() -> None:
    """Stop the embedded registry this machine's pipeyard started."""
    from pipeyard.images.containers.registry_server import LocalRegistry, default_root

    LocalRegistry(default_root()).stop()
