"""`pipeyard providers`: the providers, their images, jobs and commands."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from pipeyard.cli.json_output import emit, json_option
from pipeyard.model.provider import load_providers, repo_root
from pipeyard.model.site import find_site, load_site


@click.command()
@json_option
def providers(as_json: bool) -> None:
    """List the providers, their images and jobs."""
    root = repo_root()
    table = Table(title="pipeyard providers")
    for col in ("provider", "image", "base", "hidden jobs", "CLIs"):
        table.add_column(col)
    all_providers = load_providers(root)
    site = load_site(find_site(root), all_providers)
    if as_json:
        emit("providers", {"providers": [
            {"name": p.name, "image": site.image_of(p), "base": p.base,
             "jobs": [f".{p.job_prefix}-{j.name}" for j in p.jobs], "commands": list(p.cli)} for p in all_providers]})
        return
    for p in all_providers:
        table.add_row(p.name, site.image_of(p), p.base, ", ".join(f".{p.job_prefix}-{j.name}" for j in p.jobs),
                      ", ".join(p.cli))
    Console(width=140).print(table)
