"""`pipeyard lint [FILE]`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeyard.check.lint import Finding, lint_offline, lint_remote
from pipeyard.check.merge import TemplateSource
from pipeyard.model.provider import repo_root
from pipeyard.model.site import find_site, load_site
from pipeyard.render.outputs import TEMPLATES_DIR
from pipeyard_kit import secrets, urls
from pipeyard_kit.errors import ConfigError, UsageError, ValidationError


def template_source(templates: Path | None, component_project: str | None) -> TemplateSource:
    if templates is None:
        try:
            root = repo_root(Path(__file__).parent)
        except UsageError:
            raise UsageError("no rendered templates to lint against (pipeyard runs outside its checkout)",
                             fix="pass --templates DIR, a checkout of the component project") from None
        templates = root / TEMPLATES_DIR
        site = load_site(find_site(root))
    else:
        site = load_site(None)
    if not (templates / "templates").is_dir():
        raise UsageError(f"{templates} holds no rendered templates", fix="pass --templates pipeline-templates/")
    return TemplateSource(templates, component_project or site.component_project)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), default=".gitlab-ci.yml")
@click.option("--templates", type=click.Path(file_okay=False, path_type=Path),
              help="The rendered component project (default: this checkout's pipeline-templates/).")
@click.option("--component-project", help="host/group/project of pipeyard's component project, as included.")
@click.option("--gitlab-url", envvar="GITLAB_URL", help="Also validate through GitLab's CI lint API here.")
@click.option("--token", help="API token for --gitlab-url; better GITLAB_TOKEN or GITLAB_TOKEN_FILE, which no "
                                "process listing shows.")
@click.option("--project", "project", envvar="CI_PROJECT_PATH",
              help="Project (id or path) whose context GitLab lints in.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the findings as JSON on stdout (file, line, severity, message), for scripts; "
                   "the exit code is the same.")
def lint(file: Path, templates: Path | None, component_project: str | None, gitlab_url: str | None,
         token: str | None, project: str | None, as_json: bool) -> None:
    """Validate a consumer .gitlab-ci.yml: offline, and with --gitlab-url also by GitLab.

    Every problem names its file and line. Local includes (wildcards too), their spec:inputs,
    !reference tags and extends across files are resolved as GitLab resolves them.
    """
    if not file.is_file():
        raise UsageError(f"{file}: no such file", fix="pass the path of a .gitlab-ci.yml")
    result = lint_offline(file, template_source(templates, component_project), file.parent)
    if gitlab_url:
        why = urls.problem(gitlab_url)
        if why:
            raise UsageError(f"--gitlab-url {urls.masked(gitlab_url)!r} is not an http(s) URL ({why})",
                             fix="pass GitLab's address, e.g. https://gitlab.example.com; the token goes in "
                                 "GITLAB_TOKEN" if why == urls.CREDENTIALS else f"use e.g. {urls.EXAMPLE}")
        if not token:
            try:
                token, _ = secrets.read("GITLAB_TOKEN")
            except secrets.SecretFileError as exc:
                raise ConfigError(str(exc)) from None
        if not token or not project:
            raise UsageError("--gitlab-url needs --token (or GITLAB_TOKEN) and --project",
                             fix="pass both, or drop --gitlab-url for an offline lint")
        result.findings += [Finding("error", p, str(file)) for p in lint_remote(file, gitlab_url, token, project)]
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        if not result.ok:
            raise SystemExit(1)
        return
    for finding in result.findings:
        if finding.severity != "error":
            click.echo(f"{finding.severity}: {finding.render()}", err=True)
    problems = result.problems
    if problems:
        raise ValidationError(f"{file}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    where = " and GitLab's lint API" if gitlab_url else ""
    click.echo(f"{file}: valid ({len(result.jobs())} jobs: {', '.join(result.jobs())}; checked offline{where})")
