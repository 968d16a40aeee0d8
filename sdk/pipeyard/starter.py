"""`pipeyard init`: a starter .gitlab-ci.yml for a new project that passes lint."""

from __future__ import annotations

from . import __version__
from .site import Site
from .yamlio import dump_yaml

KINDS = {
    "maven": {"build": ["maven"], "report": True},
    "node": {"build": ["npm"], "report": True},
}


def starter(kind: str, site: Site, style: str = "component") -> str:
    providers = KINDS[kind]["build"] + ["sonar", "sendmail"]
    if style == "component":
        include = [{"component": f"{site.component_project}/{p}@{__version__}"} for p in providers]
        include[-1]["inputs"] = {"email-to": "team@example.com", "sonar-project-id": "$CI_PROJECT_NAME",
                                 "sonar-internal-url": "$SONAR_INTERNAL_ADDR",
                                 "sonar-external-url": "$SONAR_EXTERNAL_ADDR"}
        body = {"stages": ["build", "test", "deploy", "report"], "include": include}
    else:
        project = site.component_project.split("/", 1)[1]
        include = [{"project": project, "ref": __version__, "file": f"/{p}.gitlab-ci.yml"} for p in providers]
        body: dict = {"stages": ["build", "test", "deploy", "report"], "include": include}
        prefix = {"maven": "maven", "npm": "npm"}[KINDS[kind]["build"][0]]
        jobs = ["build", "test", "deploy"] if prefix == "maven" else ["build", "test", "publish"]
        for job in jobs:
            body[f"{prefix}-{job}"] = {"extends": f".{prefix}-{job}"}
        body["sonar-scan"] = {"extends": ".sonar-scan"}
        body["sonar-report"] = {"extends": ".sendmail-sonar"}
    head = (f"# Starter pipeline from `pipeyard init --kind {kind}` (pipeyard {__version__}).\n"
            "# Secrets (MAVEN_REPO_PASSWORD, NPM_TOKEN, SONAR_TOKEN, SMTP_PASSWORD) come from masked\n"
            "# group-level CI/CD variables; the Sonar report mail runs on scheduled pipelines only.\n")
    return head + dump_yaml(body, sort_keys=False)
