"""`pipeyard render`, `pipeyard check` and `pipeyard providers`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..checks import example_problems, load_all, skeleton_problems, template_problems
from ..errors import ModelError, ValidationError
from ..merge import TemplateSource
from ..model import load_providers, repo_root
from ..render import TEMPLATES_DIR, build_outputs, drift, ensure_no_collisions, write_outputs
from ..site import find_site, load_site

site_option = click.option("--site", "site_file", type=click.Path(dir_okay=False, path_type=Path),
                           help="Site file with the platform's defaults (default: $PIPEYARD_SITE or "
                                "pipeyard.site.yaml in the checkout).")


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


@click.command()
@site_option
def check(site_file: Path | None) -> None:
    """Fail on any drift, schema error or broken example: what CI runs first."""
    root = repo_root()
    providers, problems = load_all(root)
    model_ok = not problems
    problems += skeleton_problems(root)
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


@click.command()
def providers() -> None:
    """List the providers, their images and jobs."""
    root = repo_root()
    table = Table(title="pipeyard providers")
    for col in ("provider", "image", "base", "hidden jobs", "CLIs"):
        table.add_column(col)
    for p in load_providers(root):
        table.add_row(p.name, p.image_name, p.base, ", ".join(f".{p.job_prefix}-{j.name}" for j in p.jobs),
                      ", ".join(p.cli))
    Console(width=140).print(table)
