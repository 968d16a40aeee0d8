"""`pipeyard lint`: check a consumer .gitlab-ci.yml before GitLab does.

Offline, it validates the merged view (includes resolved, inputs checked,
extends applied) against GitLab's schema, so a typo inside a hidden job or an
include of a template that doesn't exist is caught. With a GitLab URL and token it
also asks GitLab's CI lint API, which knows the server's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeyard.check.merge import Merged, TemplateSource, merged_view
from pipeyard.check.schema import gitlab_schema, schema_problems
from pipeyard_kit.errors import RemoteError, ValidationError

DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]


@dataclass
class LintResult:
    path: Path
    merged: Merged | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def jobs(self) -> list[str]:
        return visible_jobs(self.merged.config) if self.merged else []


def _keywords() -> set[str]:
    return set(gitlab_schema()["properties"])


def visible_jobs(config: dict[str, Any]) -> list[str]:
    keywords = _keywords()
    return [k for k, v in config.items()
            if isinstance(v, dict) and k not in keywords and not str(k).startswith(".")]


def semantic_problems(config: dict[str, Any]) -> list[str]:
    """What GitLab checks beyond the schema at pipeline creation."""
    problems = []
    stages = config.get("stages") or DEFAULT_STAGES
    stages = [".pre", *stages, ".post"] if ".pre" not in stages else stages
    for name in visible_jobs(config):
        job = config[name]
        if not any(k in job for k in ("script", "trigger", "run")):
            problems.append(f"{name}: a job needs a script: (or trigger:): add one or extend a template that has it")
        stage = job.get("stage", "test")
        if isinstance(stage, str) and stage not in stages:
            problems.append(f"{name}: stage '{stage}' is not in stages ({', '.join(stages)}): add it to stages:")
    return problems


def lint_offline(path: Path, source: TemplateSource, project_dir: Path | None = None) -> LintResult:
    result = LintResult(path=path)
    try:
        result.merged = merged_view(path, source, project_dir)
    except ValidationError as exc:
        result.problems.append(exc.render())
        return result
    result.notes = result.merged.notes
    result.problems.extend(schema_problems(result.merged.config))
    result.problems.extend(semantic_problems(result.merged.config))
    return result


def lint_remote(path: Path, gitlab_url: str, token: str, project: str) -> list[str]:
    """Problems GitLab's CI lint API reports for the file, in the project's context."""
    import gitlab  # the platform extra

    from pipeyard_kit.gitlab import client

    content = path.read_text(encoding="utf-8")
    try:
        # No transient retries: a person is waiting, and an unreachable host should fail now.
        gl = client(gitlab_url, token, what="linting through GitLab", install="install pipeyard[platform]",
                    retry=False)
        answer = gl.projects.get(project, lazy=True).ci_lint.create({"content": content})
    except gitlab.exceptions.GitlabAuthenticationError:
        raise RemoteError(f"GitLab at {gitlab_url} refused the token (401)",
                          fix="pass a token with the api scope in --token or GITLAB_TOKEN") from None
    except gitlab.exceptions.GitlabError as exc:
        code = getattr(exc, "response_code", None)
        raise RemoteError(f"GitLab's CI lint API at {gitlab_url} answered {code or 'an error'} for project {project}",
                          fix="check --project and that the token can read it") from None
    except Exception as exc:  # requests' connection errors arrive wrapped in many forms
        raise RemoteError(f"cannot reach GitLab at {gitlab_url} ({type(exc).__name__})",
                          fix="check --gitlab-url and the network") from None
    if getattr(answer, "valid", False):
        return []
    return [f"GitLab: {e}" for e in getattr(answer, "errors", [])] or ["GitLab: the configuration is invalid"]
