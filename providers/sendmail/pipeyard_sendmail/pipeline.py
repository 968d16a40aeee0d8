"""A pipeline's status for `send-mail pipeline`, read from the GitLab API with python-gitlab.

GET /projects/:id, /projects/:id/pipelines/:pipeline_id, its /jobs pages and its /bridges (trigger
jobs are listed there, never under /jobs), and the commit's title (the single-pipeline answer has
none): CI_COMMIT_TITLE when the mail describes the job's own pipeline, else
/repository/commits/:sha. The mail is usually sent from a job of the pipeline it describes, so that
job (CI_JOB_ID) is left out and a still-running pipeline is judged by the jobs that have finished.

A CI/CD job token cannot read a project, a pipeline or its jobs: GitLab looks at it only on the
endpoints of doc/ci/jobs/ci_job_token.md (commits are among them, pipelines are not) and treats the
caller as anonymous elsewhere, so a private project answers 404. Without GITLAB_TOKEN the pipeline is
read anonymously (enough for a public project) and a refusal says to set GITLAB_TOKEN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import gitlab
import requests

from pipeyard_kit import gitlab as kit_gitlab
from pipeyard_kit.errors import ConfigError, RemoteError
from pipeyard_sendmail.report import parse_date

FINISHED_OK = {"success", "skipped", "manual"}
ACTIVE = {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled"}


@dataclass
class JobRow:
    id: int
    name: str
    stage: str
    status: str
    duration: float | None
    url: str
    allow_failure: bool = False
    failure_reason: str = ""
    trigger: bool = False  # a trigger job (bridge) that started a downstream pipeline
    downstream_url: str = ""
    downstream_status: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed" and not self.allow_failure


@dataclass
class StageRow:
    name: str
    jobs: list[JobRow]

    @property
    def status(self) -> str:
        statuses = {j.status for j in self.jobs}
        if any(j.failed for j in self.jobs):
            return "failed"
        for s in ("running", "pending", "created", "canceled"):
            if s in statuses:
                return s
        if statuses <= {"skipped", "manual"}:
            return "skipped"
        return "success" if statuses <= FINISHED_OK | {"failed"} else min(statuses)


@dataclass
class PipelineReport:
    project_path: str
    project_url: str
    pipeline_id: int
    status: str
    ref: str
    sha: str
    url: str
    source: str = ""
    user: str = ""
    created_at: datetime | None = None
    duration: float | None = None
    commit_title: str = ""
    jobs: list[JobRow] = field(default_factory=list)

    @property
    def failed_jobs(self) -> list[JobRow]:
        return [j for j in self.jobs if j.failed]

    @property
    def stages(self) -> list[StageRow]:
        order: dict[str, list[JobRow]] = {}
        for job in self.jobs:
            order.setdefault(job.stage, []).append(job)
        return [StageRow(name, jobs) for name, jobs in order.items()]

    @property
    def verdict(self) -> str:
        if self.status == "failed" or self.failed_jobs:
            return "FAILED"
        if self.status == "success":
            return "PASSED"
        if self.status == "canceled":
            return "CANCELED"
        if self.status in ACTIVE and self.jobs and not any(j.status in ACTIVE for j in self.jobs):
            return "PASSED"  # only the job sending this mail is still running
        return self.status.upper().replace("_", " ")

    @property
    def failed(self) -> bool:
        return self.verdict == "FAILED"

    def subject(self) -> str:
        n = len(self.failed_jobs)
        detail = f" · {n} job{'s' if n != 1 else ''} failed" if n else ""
        return f"[CI] {self.verdict} · {self.project_path} · pipeline #{self.pipeline_id} on {self.ref}{detail}"

    def summary(self) -> str:
        failed = ", ".join(j.name for j in self.failed_jobs[:3])
        return f"Pipeline {self.verdict.lower()} on {self.ref}" + (f" · failed: {failed}" if failed else "")


def _job(raw: dict[str, Any]) -> JobRow:
    return JobRow(id=int(raw.get("id", 0)), name=raw.get("name", ""), stage=raw.get("stage", ""),
                  status=raw.get("status", ""), duration=raw.get("duration"), url=raw.get("web_url", ""),
                  allow_failure=bool(raw.get("allow_failure")), failure_reason=raw.get("failure_reason") or "")


def _bridge(raw: dict[str, Any]) -> JobRow:
    row = _job(raw)
    downstream = raw.get("downstream_pipeline") or {}
    row.trigger, row.downstream_url = True, downstream.get("web_url", "")
    row.downstream_status = downstream.get("status", "")
    return row


class _Refused(Exception):
    """GitLab would not show the pipeline to the caller (401/403/404)."""


def collect(url: str, project_id: str, pipeline_id: int, *, token: str | None = None, job_token: str | None = None,
            timeout: float = 30, verify: bool | str = True, current_job: int | None = None,
            env: dict[str, str] | None = None, url_setting: str = "CI_SERVER_URL") -> PipelineReport:
    env = env or {}
    where = f"GitLab at {url} ({url_setting})"
    step = f"projects/{project_id}"

    def check(attributes: Any, shape: Any) -> dict[str, Any]:
        return kit_gitlab.checked(attributes, shape, url=url, call=step, setting=url_setting)

    def client(private: str | None, job: str | None = None) -> Any:
        return kit_gitlab.client(url, private, job_token=job, timeout=timeout, retry=False,
                                 ca_file=verify if isinstance(verify, str) else None, keep_base_url=True,
                                 what="reading the pipeline", install="use the sendmail provider image")

    # A job token is no use on these endpoints (GitLab ignores it there): read them with the token, or
    # anonymously; the job token still reads the commit.
    reader = client(token)
    try:
        try:
            project = reader.projects.get(project_id)
            check(project.attributes, kit_gitlab.PROJECT)
            step = f"projects/{project_id}/pipelines/{pipeline_id}"
            pipeline = project.pipelines.get(pipeline_id)
            check(pipeline.attributes, kit_gitlab.PIPELINE)
            step += "/jobs"
            jobs = [_job(check(j.attributes, kit_gitlab.JOB)) for j in pipeline.jobs.list(get_all=True, per_page=100)]
            step = step.replace("/jobs", "/bridges")
            jobs += [_bridge(check(b.attributes, kit_gitlab.BRIDGE))
                     for b in pipeline.bridges.list(get_all=True, per_page=100)]
        except (gitlab.exceptions.GitlabAuthenticationError, gitlab.exceptions.GitlabGetError,
                gitlab.exceptions.GitlabListError) as exc:
            code = getattr(exc, "response_code", None)
            if code in (401, 403, 404) and not token:
                raise _Refused() from exc
            raise
        p = pipeline.attributes
        title = _commit_title(p, env, pipeline_id, lambda: client(token, None if token else job_token)
                              .projects.get(project_id, lazy=True).commits.get(p.get("sha", "")))
    except _Refused:
        raise ConfigError(f"{where} would not show pipeline {pipeline_id} of project {project_id} without a token "
                          "(CI_JOB_TOKEN cannot read pipelines: GitLab accepts job tokens only on the endpoints of "
                          "its job token documentation, and a private project answers 404)",
                          fix="set GITLAB_TOKEN (or GITLAB_TOKEN_FILE) to a token with read_api scope, e.g. a "
                              "project access token with the Reporter role") from None
    except gitlab.exceptions.GitlabParsingError:
        raise RemoteError(f"{where} answered {step} with something that is not GitLab's JSON",
                          fix=f"check that {url_setting} is GitLab's base URL (e.g. https://gitlab.example.com), "
                              "not a proxy or a login page") from None
    except gitlab.exceptions.GitlabAuthenticationError:
        raise RemoteError(f"{where} rejected the token (401)",
                          fix="set GITLAB_TOKEN (or GITLAB_TOKEN_FILE) to a token with read_api scope") from None
    except gitlab.exceptions.GitlabGetError as exc:
        if exc.response_code == 404:
            raise RemoteError(f"{where} has no pipeline {pipeline_id} in project {project_id} (or the token "
                              "cannot see it)", fix="check --project-id and --pipeline-id, and the token's access") from None
        raise RemoteError(f"{where} failed with HTTP {exc.response_code} on {step}",
                          fix=f"retry later, or check the server's health and {url_setting}") from None
    except gitlab.exceptions.GitlabError as exc:
        detail = " ".join(str(exc.error_message).split())[:200]
        raise RemoteError(f"{where} failed on {step} ({exc.response_code or 'error'}: {detail})",
                          fix=f"retry later, or check the server's health and {url_setting}") from None
    except requests.exceptions.SSLError:
        raise RemoteError(f"TLS verification of {where} failed",
                          fix="add the server's CA certificate to CUSTOM_CA_CERTS") from None
    except requests.exceptions.Timeout:
        raise RemoteError(f"{where} did not answer within {timeout:g} s", fix="retry, or raise SONAR_TIMEOUT") from None
    except requests.exceptions.ConnectionError:
        raise RemoteError(f"cannot reach {where}", fix=f"check {url_setting} and that the runner can reach it") from None
    except requests.exceptions.RequestException as exc:
        raise RemoteError(f"{where} failed on {step} ({type(exc).__name__})",
                          fix=f"check {url_setting}: GitLab's base URL, e.g. https://gitlab.example.com") from None
    return PipelineReport(
        project_path=project.attributes.get("path_with_namespace", str(project_id)),
        project_url=project.attributes.get("web_url", ""), pipeline_id=int(p.get("id", pipeline_id)),
        status=p.get("status", ""), ref=p.get("ref", ""), sha=str(p.get("sha", ""))[:8], url=p.get("web_url", ""),
        source=p.get("source", ""), user=(p.get("user") or {}).get("name", ""),
        created_at=parse_date(p.get("created_at")),
        duration=p.get("duration"), commit_title=title,
        jobs=sorted([j for j in jobs if j.id != current_job], key=lambda j: j.id),
    )


def _commit_title(p: dict[str, Any], env: dict[str, str], pipeline_id: int, read_commit: Any) -> str:
    """The commit's title: the job's own when the mail is about the job's pipeline, else GitLab's (a job
    token may read commits). A commit GitLab will not show only costs the mail its title."""
    if env.get("CI_COMMIT_TITLE") and env.get("CI_PIPELINE_ID") == str(pipeline_id) and \
            env.get("CI_COMMIT_SHA", p.get("sha")) == p.get("sha"):
        return env["CI_COMMIT_TITLE"]
    try:
        return str(read_commit().attributes.get("title") or "")
    except gitlab.exceptions.GitlabError:
        return ""
