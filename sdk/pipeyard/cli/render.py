"""`pipeyard render`: every generated file, from provider.yaml and the site file."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.check.project import load_all, template_problems
from pipeyard.cli.options import site_option
from pipeyard.model.provider import repo_root
from pipeyard.model.site import find_site, load_site
from pipeyard.render.outputs import TEMPLATES_DIR, build_outputs, drift, ensure_no_collisions, write_outputs
from pipeyard_kit.errors import ModelError, ValidationError


def _prepare(site_file: Path | None):
    root = repo_root()
    providers, problems = load_all(root)
    if problems:
        raise ModelError(problems[0] if len(problems) == 1 else "\n".join(problems))
    ensure_no_collisions(providers)
    site = load_site(site_file or find_site(root), providers)
    return root, providers, site


@click.command()
@site_option
def render(site_file: Path | None) -> None:
    """Write pipeline-templates/ and the generated files from every provider.yaml."""
    root, providers, site = _prepare(site_file)
    outputs = build_outputs(root, providers, site)
    problems = template_problems(outputs)
    if problems:
        raise ValidationError("rendered templates fail GitLab's schema:\n  " + "\n  ".join(problems),
                              fix="fix the provider.yaml jobs named above")
    changed = drift(root, outputs)
    write_outputs(root, outputs)
    if changed:
        click.echo(f"rendered {len(providers)} providers; changed: {', '.join(changed)}")
    else:
        click.echo(f"rendered {len(providers)} providers into {TEMPLATES_DIR}/; nothing changed")
