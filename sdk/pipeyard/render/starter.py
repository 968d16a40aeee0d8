"""`pipeyard init`: a starter .gitlab-ci.yml for a new project that passes lint."""

from __future__ import annotations

from typing import Any

from pipeyard.model.provider import Provider
from pipeyard.model.site import Site
from pipeyard.render.jobs import component_inputs
from pipeyard.render.workflow import NAME as WORKFLOW
from pipeyard_kit import __version__
from pipeyard_kit.yamlio import dump_yaml

KINDS = {"maven": "maven", "node": "npm"}
REPORT = ("sonar", "sendmail")
# Placeholders for required inputs the site file doesn't default; a person edits them.
_PLACEHOLDER = {"email-to": "team@example.com", "email-from": "ci@example.com",
                "sonar-project-id": "$CI_PROJECT_PATH_SLUG", "host-url": "https://sonar.example.com",
                "smtp-host": "smtp.example.com"}


def _required_inputs(provider: Provider, site: Site) -> dict[str, Any]:
    out = {}
    for name, spec in component_inputs(provider, site).items():
        if "default" not in spec:
            out[name] = _PLACEHOLDER.get(name, f"https://{name.removesuffix('-url')}.example.com"
                                         if name.endswith("url") else "CHANGE-ME")
    return out


def starter(kind: str, site: Site, providers: dict[str, Provider], style: str = "component") -> str:
    names = [KINDS[kind], *REPORT]
    body: dict[str, Any] = {"stages": ["build", "test", "deploy", "report"]}
    if style == "component":
        # Which pipelines run at all: merge-request pipelines for a branch with an open merge
        # request, branch pipelines otherwise, never both.
        include: list[dict[str, Any]] = [{"component": f"{site.component_project}/{WORKFLOW}@{__version__}"}]
        for name in names:
            item: dict[str, Any] = {"component": f"{site.component_project}/{name}@{__version__}"}
            required = _required_inputs(providers[name], site)
            if required:
                item["inputs"] = required
            include.append(item)
        body["include"] = include
    else:
        project = site.component_project.split("/", 1)[1]
        body["include"] = [{"project": project, "ref": __version__,
                            "file": [f"/{n}.gitlab-ci.yml" for n in (WORKFLOW, *names)]}]
        for name in names:
            p = providers[name]
            for job in p.jobs:
                entry: dict[str, Any] = {"extends": f".{p.job_prefix}-{job.name}"}
                variables = {s.env: _required_inputs(p, site)[s.input] for s in p.settings
                             if s.input in _required_inputs(p, site)}
                if variables:
                    entry["variables"] = variables
                body[f"{p.job_prefix}-{job.name}"] = entry
    head = (f"# Starter pipeline from `pipeyard init --kind {kind}` (pipeyard {__version__}).\n"
            "# Replace the example.com placeholders, or give them defaults in the platform's site file.\n"
            "# Secrets (MAVEN_REPO_PASSWORD, NPM_TOKEN, SONAR_TOKEN, SMTP_PASSWORD) come from masked\n"
            "# group-level CI/CD variables; the Sonar report mail runs on scheduled pipelines only.\n")
    return head + dump_yaml(body, sort_keys=False)
