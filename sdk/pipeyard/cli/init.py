"""`pipeyard init --kind maven|node`."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.check.lint import lint_offline
from pipeyard.check.merge import TemplateSource
from pipeyard.model.provider import load_providers, repo_root
from pipeyard.model.site import find_site, load_site
from pipeyard.render.outputs import TEMPLATES_DIR
from pipeyard.render.starter import KINDS, starter
from pipeyard_kit.errors import UsageError


@click.command()
@click.option("--kind", type=click.Choice(sorted(KINDS)), required=True, help="What the project builds with.")
@click.option("--style", type=click.Choice(["component", "classic"]), default="component", show_default=True,
              help="Include the templates as CI/CD components (inputs) or classic includes (variables).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path(".gitlab-ci.yml"),
              show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(kind: str, style: str, output: Path, force: bool) -> None:
    """Write a starter .gitlab-ci.yml that passes `pipeyard lint`."""
    if output.exists() and not force:
        raise UsageError(f"{output} exists", fix="pass --force to overwrite it, or -o another path")
    root = repo_root(Path(__file__).parent)
    providers = {p.name: p for p in load_providers(root)}
    site = load_site(find_site(root), list(providers.values()))
    text = starter(kind, site, providers, style)
    tmp = output.with_name(f".{output.name}.pipeyard-init")
    tmp.write_text(text, encoding="utf-8")
    try:
        result = lint_offline(tmp, TemplateSource(root / TEMPLATES_DIR, site.component_project), output.parent)
        if not result.ok:  # a starter that fails our own lint is our bug, never the user's file
            raise UsageError("the starter fails lint: " + "; ".join(result.problems), fix="report this bug")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"wrote {output} ({style} includes, jobs: {', '.join(result.jobs())})")
