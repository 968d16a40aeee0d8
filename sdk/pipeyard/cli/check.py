"""`pipeyard check`: drift, provider.yaml schema, skeleton, GitLab's schema and the examples."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.check.merge import TemplateSource
from pipeyard.check.project import (
    example_problems,
    load_all,
    ownership_problems,
    skeleton_problems,
    template_problems,
)
from pipeyard.cli.options import site_option
from pipeyard.model.provider import repo_root
from pipeyard.model.site import find_site, load_site
from pipeyard.render.outputs import TEMPLATES_DIR, build_outputs, drift
from pipeyard_kit.errors import ValidationError


@click.command()
@site_option
def check(site_file: Path | None) -> None:
    """Fail on any drift, schema error or broken example: what CI runs first."""
    root = repo_root()
    providers, problems = load_all(root)
    model_ok = not problems
    problems += skeleton_problems(root)
    problems += ownership_problems(providers)
    if providers and model_ok:
        site = load_site(site_file or find_site(root), providers)
        outputs = build_outputs(root, providers, site)
        problems += [f"{p} differs from a fresh render: run `make render` and commit the result"
                     for p in drift(root, outputs)]
        problems += template_problems(outputs)
        problems += example_problems(root, TemplateSource(root / TEMPLATES_DIR, site.component_project))
    if problems:
        raise ValidationError(f"make check found {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    click.echo(f"check: {len(providers)} providers, templates and examples are valid and up to date")
