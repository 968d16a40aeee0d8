"""A pipeline's status for `send-mail pipeline`, read from the GitLab API with python-gitlab.

Two calls plus the job pages: GET /projects/:id, GET
/projects/:id/pipelines/:pipeline_id and its /jobs. The mail is usually sent
from a job of the pipeline it describes, so that job (CI_JOB_ID) is left out
and a still-running pipeline is judged by the jobs that have finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import gitlab
import requests

from pipeyard_kit import gitlab as kit_gitlab
from pipeyard_kit.errors import RemoteError
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


def collect(url: str, project_id: str, pipeline_id: int, *, token: str | None = None, job_token: str | None = None,
            timeout: float = 30, verify: bool | str = True, current_job: int | None = None) -> PipelineReport:
    where = f"GitLab at {url}"
    gl = kit_gitlab.client(url, token, job_token=job_token, timeout=timeout, retry=False,
                           ca_file=verify if isinstance(verify, str) else None, keep_base_url=True,
                           what="reading the pipeline", install="use the sendmail provider image")
    try:
        project = gl.projects.get(project_id)
        pipeline = project.pipelines.get(pipeline_id)
        jobs = [_job(j.attributes) for j in pipeline.jobs.list(get_all=True, per_page=100)]
    except gitlab.exceptions.GitlabAuthenticationError:
        raise RemoteError(f"{where} rejected the token (401)",
                          fix="set GITLAB_TOKEN (or GITLAB_TOKEN_FILE) to a token with read_api scope") from None
    except gitlab.exceptions.GitlabGetError as exc:
        if exc.response_code == 404:
            raise RemoteError(f"{where} has no pipeline {pipeline_id} in project {project_id} (or the token "
                              "cannot see it)", fix="check --project-id and --pipeline-id, and the token's access") from None
        raise RemoteError(f"{where} failed with HTTP {exc.response_code} reading pipeline {pipeline_id}",
                          fix="retry later, or check the server's health") from None
    except gitlab.exceptions.GitlabError as exc:
        raise RemoteError(f"{where} failed reading pipeline {pipeline_id} ({exc.error_message})",
                          fix="retry later, or check the server's health") from None
    except requests.exceptions.SSLError:
        raise RemoteError(f"TLS verification of {where} failed",
                          fix="add the server's CA certificate to CUSTOM_CA_CERTS") from None
    except requests.exceptions.Timeout:
        raise RemoteError(f"{where} did not answer within {timeout:g} s", fix="retry, or raise SONAR_TIMEOUT") from None
    except requests.exceptions.ConnectionError:
        raise RemoteError(f"cannot reach {where}", fix="check --gitlab-url (CI_SERVER_URL)") from None
    p = pipeline.attributes
    commit = p.get("commit") if isinstance(p.get("commit"), dict) else {}
    return PipelineReport(
        project_path=project.attributes.get("path_with_namespace", str(project_id)),
        project_url=project.attributes.get("web_url", ""), pipeline_id=int(p.get("id", pipeline_id)),
        status=p.get("status", ""), ref=p.get("ref", ""), sha=str(p.get("sha", ""))[:8], url=p.get("web_url", ""),
        source=p.get("source", ""), user=(p.get("user") or {}).get("name", ""),
        created_at=parse_date(p.get("created_at")),
        duration=p.get("duration"), commit_title=commit.get("title", ""),
        jobs=sorted([j for j in jobs if j.id != current_job], key=lambda j: j.id),
    )
