"""GitLab through python-gitlab: one client factory, one reading of its refusals, and one
merge-request refresher, for every image and tool that talks to GitLab.

python-gitlab is imported only when a client is made: the images without GitLab work
(maven, npm...) don't carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeyard_kit import __version__, shapes, urls
from pipeyard_kit.errors import ConfigError, PipeyardError, RemoteError

TIMEOUT = 30

# The members pipeyard reads of GitLab's answers, with their types (pipeyard_kit.shapes), from the
# REST API documentation: doc/api/projects.md (GET /projects/:id), doc/api/pipelines.md (GET
# /projects/:id/pipelines/:pipeline_id), doc/api/jobs.md (GET .../pipelines/:id/jobs and /bridges).
PROJECT = {"id!": int, "path_with_namespace": str, "web_url": str}
PIPELINE = {"id!": int, "status": str, "ref": str, "sha": str, "web_url": str, "source": str,
            "user": {"name": str}, "created_at": str, "duration": shapes.NUMBER}
JOB = {"id!": int, "name": str, "stage": str, "status": str, "duration": shapes.NUMBER, "web_url": str,
       "allow_failure": bool, "failure_reason": str}
BRIDGE = {**JOB, "downstream_pipeline": {"web_url": str, "status": str}}


@dataclass(frozen=True)
class Hints:
    """What a refusal should tell the user to do, in the words of the tool that asked."""

    token_var: str
    token_fix: str = ""
    role_fix: str = "give the token api scope and at least the Developer role on the project"
    not_found_fix: str = "check the project path and the GitLab URL"


def client(url: str, token: str | None = None, *, what: str, install: str, ca_file: str | None = None,
           job_token: str | None = None, retry: bool = True, timeout: float = TIMEOUT, **options: Any) -> Any:
    """A python-gitlab client; `install` names what brings python-gitlab when it is missing."""
    try:
        import gitlab
    except ImportError:
        raise ConfigError(f"python-gitlab is not installed, so {what} is not possible", fix=install) from None
    return gitlab.Gitlab(url, private_token=token or None, job_token=None if token else job_token,
                         ssl_verify=ca_file or True, timeout=timeout, retry_transient_errors=retry,
                         user_agent=f"pipeyard/{__version__}", **options)


def checked(attributes: Any, shape: Any, *, url: str, call: str, setting: str) -> dict[str, Any]:
    """An answer's attributes when they have the shape pipeyard reads, else one RemoteError naming the
    server, the call and the setting that points at it."""
    found = shapes.problem(attributes, shape)
    if found:
        raise RemoteError(f"GitLab at {urls.masked(url)} ({setting}) answered {call} with JSON pipeyard does not "
                          f"expect ({found})", fix=f"check that {setting} is GitLab's base URL (e.g. "
                                                   "https://gitlab.example.com), not a proxy or another service")
    return attributes


def explain(exc: Exception, *, url: str, project: str, what: str, hints: Hints) -> PipeyardError:
    """One line naming the setting to fix, for an error python-gitlab or requests raised."""
    import gitlab
    import requests

    where = f"GitLab at {urls.masked(url)} (project {project})"
    code = getattr(exc, "response_code", None)
    var = hints.token_var
    if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError) or code == 401:
        return ConfigError(f"{where} refused {var} (401) to {what}",
                           fix=hints.token_fix or f"set {var} (or {var}_FILE) to an access token with api scope")
    if code == 403:
        return ConfigError(f"{where} does not let {var} {what} (403)", fix=hints.role_fix)
    if code == 404:
        return ConfigError(f"{where}: project not found (404) while trying to {what}", fix=hints.not_found_fix)
    if isinstance(exc, requests.exceptions.RequestException):
        return RemoteError(f"cannot reach {where} ({type(exc).__name__})",
                           fix="check the GitLab URL and that this runner can reach it")
    if isinstance(exc, gitlab.exceptions.GitlabParsingError):
        return RemoteError(f"{where} answered with something that is not GitLab's JSON while trying to {what}",
                           fix="check that the GitLab URL is GitLab's base URL, not a proxy or a login page")
    message = " ".join(str(getattr(exc, "error_message", None) or exc).split())[:300]
    return RemoteError(f"{where} failed to {what} ({code or 'error'}: {message})", fix="rerun with TRACE=1 for details")


def errors() -> tuple[type[Exception], ...]:
    """What a GitLab call can raise, for an `except` that hands it to explain()."""
    import gitlab
    import requests

    return gitlab.exceptions.GitlabError, requests.exceptions.RequestException


def find_open(project: Any, source: str, target: str) -> Any:
    """The open merge request from source into target, or None."""
    found = project.mergerequests.list(state="opened", source_branch=source, target_branch=target, get_all=False)
    return found[0] if found else None


def open_or_refresh(project: Any, *, source: str, target: str, title: str, description: str, labels: str,
                    existing: Any = None) -> tuple[Any, str]:
    """(merge request, "opened" | "updated"): one open merge request per source branch, never two.

    A concurrent job may win the create; GitLab then answers 409 and the one it opened is refreshed.
    """
    import gitlab

    mr = existing if existing is not None else find_open(project, source, target)
    if mr is None:
        try:
            return project.mergerequests.create({
                "source_branch": source, "target_branch": target, "title": title, "description": description,
                "remove_source_branch": True, "labels": labels}), "opened"
        except gitlab.exceptions.GitlabCreateError as exc:
            mr = find_open(project, source, target) if exc.response_code == 409 else None
            if mr is None:
                raise
    mr.title, mr.description = title, description
    mr.save()
    return mr, "updated"


def web_url(mr: Any) -> str:
    return str(getattr(mr, "web_url", "") or f"!{mr.iid}")
