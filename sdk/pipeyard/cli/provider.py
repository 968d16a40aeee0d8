"""`pipeyard provider new NAME`: scaffold a provider a platform team owns."""

from __future__ import annotations

import click

from pipeyard.model.provider import repo_root
from pipeyard.render.scaffold import new_provider


@click.group()
def provider() -> None:
    """Add a provider of your own."""


@provider.command("new")
@click.argument("name")
@click.option("--description", default="", metavar="TEXT",
              help="What the provider does, in a sentence [default: a placeholder to edit].")
def new(name: str, description: str) -> None:
    """Write providers/NAME/: provider.yaml, a package with one command, a smoke test and a pytest test.

    Then `make render` writes its Dockerfile, pyproject.toml and templates, `pipeyard build NAME` builds
    its image and `make test` runs its tests, with no other edit.
    """
    root = repo_root()
    written = new_provider(root, name, description or f"The {name} provider: describe what its image wraps.")
    for path in written:
        click.echo(f"wrote {path.relative_to(root)}")
    click.echo(f"next: `make render`, then `pipeyard build {name}` and `make test`")
