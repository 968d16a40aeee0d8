"""`pipeyard lint`: check a consumer .gitlab-ci.yml before GitLab does.

Offline, it validates the merged view (includes resolved, wildcards expanded, inputs
checked, `!reference` and extends applied) against GitLab's schema, so a typo inside a
hidden job or an include of a template that doesn't exist is caught, each at its file and
line. With a GitLab URL and token it also asks GitLab's CI lint API, which knows the
server's own rules.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeyard.check.merge import Merged, TemplateSource, merged_view
from pipeyard.check.schema import deepest, gitlab_schema, located, unhide, validator
from pipeyard_kit.errors import RemoteError, ValidationError

DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]
_LOCATED = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+): (?P<message>.*)$", re.S)


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | note
    message: str
    file: str | None = None
    line: int | None = None

    def render(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else (f"{self.file}: " if self.file else "")
        return f"{where}{self.message}"

    @classmethod
    def from_text(cls, severity: str, text: str) -> Finding:
        m = _LOCATED.match(text)
        if m:
            return cls(severity, m["message"], m["file"], int(m["line"]))
        return cls(severity, text)


@dataclass
class LintResult:
    path: Path
    merged: Merged | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f.render() for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[str]:
        return [f.render() for f in self.findings if f.severity == "warning"]

    @property
    def notes(self) -> list[str]:
        return [f.render() for f in self.findings if f.severity == "note"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def jobs(self) -> list[str]:
        return visible_jobs(self.merged.config) if self.merged else []

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "valid": self.ok, "jobs": self.jobs(),
                "findings": [asdict(f) for f in self.findings]}


def _keywords() -> set[str]:
    return set(gitlab_schema()["properties"])


def visible_jobs(config: dict[str, Any]) -> list[str]:
    keywords = _keywords()
    return [k for k, v in config.items()
            if isinstance(v, dict) and k not in keywords and not str(k).startswith(".")]


def _at(merged: Merged, path: tuple[Any, ...], severity: str, message: str) -> Finding:
    where = merged.where(path)
    return Finding(severity, message, *(where or (None, None)))


def schema_findings(merged: Merged) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    doc = unhide(merged.config)
    errors = sorted(validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        for path, message in located(deepest(error)):
            if message not in seen:
                seen.add(message)
                findings.append(_at(merged, path, "error", message))
    return findings


def semantic_findings(merged: Merged) -> list[Finding]:
    """What GitLab checks beyond the schema at pipeline creation."""
    config = merged.config
    findings = []
    if not visible_jobs(config):
        # GitLab refuses such a file: lib/gitlab/ci/config/entry/jobs.rb, "jobs config should contain at
        # least one visible job" (hidden .jobs are templates, never run).
        hidden = [k for k, v in config.items() if isinstance(v, dict) and str(k).startswith(".")]
        what = f"only hidden jobs ({', '.join(hidden[:3])}{' ...' if len(hidden) > 3 else ''})" if hidden \
            else "no job"
        first = merged.sources[0] if merged.sources else None
        findings.append(Finding("error", f"the pipeline has {what}, so GitLab refuses it (jobs config should "
                                         "contain at least one visible job): add a job, extend a hidden one, or "
                                         "include a component that adds jobs", first, 1 if first else None))
    stages = config.get("stages") or DEFAULT_STAGES
    stages = [".pre", *stages, ".post"] if ".pre" not in stages else stages
    for name in visible_jobs(config):
        job = config[name]
        if not any(k in job for k in ("script", "trigger", "run")):
            findings.append(_at(merged, (name,), "error", f"{name}: a job needs a script: (or trigger:): add one or "
                                                          "extend a template that has it"))
        stage = job.get("stage", "test")
        if isinstance(stage, str) and stage not in stages:
            findings.append(_at(merged, (name, "stage"), "error",
                                f"{name}: stage '{stage}' is not in stages ({', '.join(stages)}): add it to stages:"))
    return findings


def _runs_in_merge_requests(rule: Any) -> bool:
    if not isinstance(rule, dict) or rule.get("when") == "never":
        return False
    cond = rule.get("if")
    # A rule without `if` matches every pipeline, merge-request pipelines included.
    return cond is None or "merge_request" in str(cond).lower()


def workflow_findings(merged: Merged) -> list[Finding]:
    """GitLab creates a merge-request pipeline next to the branch pipeline whenever a job's rules
    can match one and no workflow:rules choose (doc/ci/pipelines/merge_request_pipelines.md,
    "Prevent duplicate pipelines")."""
    config = merged.config
    workflow = config.get("workflow")
    if isinstance(workflow, dict) and workflow.get("rules"):
        return []
    jobs = [n for n in visible_jobs(config)
            if any(_runs_in_merge_requests(r) for r in (config[n].get("rules") or []))]
    if not jobs:
        return []
    shown = ", ".join(jobs[:4]) + (" ..." if len(jobs) > 4 else "")
    return [_at(merged, (jobs[0], "rules"), "warning",
                f"{shown}: rules that match merge-request pipelines, and no workflow:rules: a branch with an open "
                "merge request gets two pipelines for every push; include the workflow component (or "
                "/workflow.gitlab-ci.yml), or add workflow:rules")]


def lint_offline(path: Path, source: TemplateSource, project_dir: Path | None = None) -> LintResult:
    result = LintResult(path=path)
    try:
        result.merged = merged_view(path, source, project_dir, shown=path.name)
    except ValidationError as exc:
        result.findings.append(Finding.from_text("error", exc.render()))
        return result
    result.findings += [Finding.from_text("note", n) for n in result.merged.notes]
    result.findings += schema_findings(result.merged)
    result.findings += semantic_findings(result.merged)
    result.findings += workflow_findings(result.merged)
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
